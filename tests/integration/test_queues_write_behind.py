"""A consumer's write-behind recorder: signals are merged in memory and written in one batch,
with the same records, counters and tally that writing each signal at once gives.

Steps and emails go through the real Huey path (enqueued by the services, dequeued and executed
the way a consumer does), with the write-behind started as `flask worker` starts it.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from governance.queues import heartbeat, recorder
from governance.queues.models import Consumer, JobCounter, JobRecord
from tests import factories
from tests.factories import make_workflow, step
from tests.jobs import ONE_ATTEMPT, PER_TAG, consume


@pytest.fixture
def consumer_process(app, monkeypatch):
    """This process as a registered consumer whose write-behind never flushes by itself."""
    monkeypatch.setattr(recorder, "FLUSH_SECONDS", 3600)
    consumer_id = heartbeat.register_consumer(worker_count=1, worker_type="thread")
    recorder.start_write_behind(app)
    yield consumer_id
    recorder.stop_write_behind()
    monkeypatch.setattr(heartbeat, "_registration", None)


def job_statuses(db) -> list[tuple[str, str, int]]:
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(JobRecord.task_name, JobRecord.status, JobRecord.attempts).order_by(
            JobRecord.task_name, JobRecord.status
        )
    )
    return [tuple(row) for row in rows]


def counter_sums(db) -> dict[str, tuple[int, int, int]]:
    rows = db.session.execute(
        sa.select(
            JobCounter.task_name,
            sa.func.sum(JobCounter.started),
            sa.func.sum(JobCounter.succeeded),
            sa.func.sum(JobCounter.failed),
        ).group_by(JobCounter.task_name)
    )
    return {name: (started, succeeded, failed) for name, started, succeeded, failed in rows}


def test_a_consumer_writes_merged_records_only_when_it_flushes(db, users, consumer_process):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("mail", "notify", PER_TAG, retry=ONE_ATTEMPT)]],
    )
    for tags in ("a", "b", ""):  # two steps succeed and send an email each, one fails
        factories.make_policy(users["owner"], tags=tags)
    assert consume() == 5

    assert job_statuses(db) == []  # gathered in memory: nothing written yet
    recorder.flush_pending()

    assert job_statuses(db) == [
        ("steward.run_step", "complete", 1),
        ("steward.run_step", "complete", 1),
        ("steward.run_step", "error", 1),
        ("steward.send_email", "complete", 1),
        ("steward.send_email", "complete", 1),
    ]
    (failed,) = db.session.scalars(sa.select(JobRecord).where(JobRecord.status == "error"))
    assert failed.step_run_id is not None and "ZeroDivisionError" in failed.traceback
    assert failed.enqueued_at <= failed.started_at <= failed.finished_at
    assert counter_sums(db) == {"steward.run_step": (3, 2, 1), "steward.send_email": (2, 2, 0)}
    assert db.session.get(Consumer, consumer_process).tasks_done == 5


def test_records_gathered_across_flushes_add_up(db, users, consumer_process):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("mail", "notify", PER_TAG, retry=ONE_ATTEMPT)]],
    )
    factories.make_policy(users["owner"], tags="a")
    recorder.flush_pending()  # the step's job, enqueued
    assert job_statuses(db) == [("steward.run_step", "enqueued", 0)]

    consume()
    recorder.flush_pending()
    consume()  # its email, enqueued by the step
    recorder.stop_write_behind()  # what a consumer does on its way out

    assert job_statuses(db) == [
        ("steward.run_step", "complete", 1),
        ("steward.send_email", "complete", 1),
    ]
    assert counter_sums(db) == {"steward.run_step": (1, 1, 0), "steward.send_email": (1, 1, 0)}
    assert db.session.get(Consumer, consumer_process).tasks_done == 2


def test_a_batch_chosen_as_a_deadlock_victim_is_written_again(app, db):
    """Another transaction holds job b and then wants job a, while the batch holds a and
    waits for b: PostgreSQL aborts the batch's transaction (its deadlock check runs first,
    the other's is set later), and the recorder writes the batch again instead of losing it.
    Without the retry the batch's error reaches `failures`."""
    import threading
    from datetime import timedelta
    from types import SimpleNamespace

    from governance.timeutil import utcnow
    from tests.conftest import require_service

    require_service(db.engine.dialect.name == "postgresql", "a PostgreSQL deadlock")
    now = utcnow()
    jobs = {name: SimpleNamespace(id=name, name="steward.run_step", args=()) for name in "ab"}
    # Different columns put a and b in two statements, a first: the batch locks a, then b.
    batch = recorder.Batch()
    batch.job(jobs["a"], now, status="running")
    batch.job(jobs["b"], now, status="complete", finished_at=now + timedelta(seconds=1))

    def upsert(connection, name: str) -> None:
        connection.execute(
            sa.text(
                "INSERT INTO job_records (task_id, task_name, args, status, attempts, created_at)"
                " VALUES (:id, 'steward.run_step', '[]', 'enqueued', 0, now())"
                " ON CONFLICT (task_id) DO UPDATE SET attempts = job_records.attempts"
            ),
            {"id": name},
        )

    failures = []
    with db.engine.connect() as other:
        # One transaction (begun by this first statement): the setting, then b.
        other.execute(sa.text("SET deadlock_timeout = '10s'"))
        upsert(other, "b")

        def write() -> None:
            try:
                with app.app_context():
                    recorder._write(batch)
            except Exception as error:
                failures.append(error)

        writer = threading.Thread(target=write)
        writer.start()
        # The batch now holds a and waits for b; taking a closes the cycle.
        waiting = sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND query LIKE 'INSERT INTO job_records%'"
        )
        with db.engine.connect() as probe:
            for _ in range(200):
                if probe.execute(waiting).scalar():
                    break
                threading.Event().wait(0.05)
        try:
            upsert(other, "a")
            other.commit()
        except sa.exc.OperationalError:
            # On a loaded machine PostgreSQL may pick this side instead; the batch must
            # still land whole.
            other.rollback()
        writer.join(timeout=30)

    assert not failures, failures
    db.session.expire_all()
    rows = dict(db.session.execute(sa.select(JobRecord.task_id, JobRecord.status)).all())
    assert rows == {"a": "running", "b": "complete"}
