"""Housekeeping of the monitoring data against a real database: old job records, counters,
sent emails and silent consumers are pruned on their retention (in batches), and the running
jobs of a consumer that stopped beating are marked lost.

Rows are written as the recorder, the outbox and `flask worker` write them, with their
timestamps placed around an explicit `now`.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from governance.notifications.models import OutboundEmail
from governance.queues import housekeeping
from governance.queues.models import Consumer, JobCounter, JobRecord, MonitorAlert
from governance.timeutil import utcnow
from tests import factories

_numbers = itertools.count(1)


def add_job(db, *, created_at: datetime, status: str = "complete", consumer_id=None) -> int:
    number = next(_numbers)
    record = JobRecord(
        task_id=f"task-{number}",
        task_name="steward.run_step",
        args=[number],
        step_run_id=number,
        status=status,
        attempts=1,
        created_at=created_at,
        enqueued_at=created_at,
        started_at=created_at,
        consumer_id=consumer_id,
    )
    db.session.add(record)
    db.session.commit()
    return record.id


def add_counter(db, minute: datetime) -> None:
    db.session.add(
        JobCounter(
            minute=minute.replace(second=0, microsecond=0),
            task_name="steward.run_step",
            started=1,
            succeeded=1,
        )
    )
    db.session.commit()


def add_email(db, *, created_at: datetime, status: str) -> int:
    number = next(_numbers)
    email = OutboundEmail(
        message_key=f"test-{number}",
        recipients="reader@example.test",
        subject=f"Email {number}",
        body="",
        status=status,
        attempts=1,
        created_at=created_at,
    )
    db.session.add(email)
    db.session.commit()
    return email.id


def add_consumer(db, name: str, *, last_seen_at: datetime, stopped_at=None) -> None:
    factories.make_consumer(
        name,
        last_seen_at=last_seen_at,
        started_at=last_seen_at - timedelta(hours=1),
        stopped_at=stopped_at,
    )


def remaining(db, column) -> list:
    db.session.expire_all()
    return sorted(db.session.scalars(sa.select(column)))


# ------------------------------------------------------------------ prune


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of two rows, so a handful of old rows takes several batches."""
    monkeypatch.setattr(housekeeping, "PRUNE_BATCH", 2)


def test_prune_removes_job_records_past_their_retention_in_batches(app, db, small_batches):
    now = utcnow()
    cutoff = now - timedelta(days=app.config["JOB_RETENTION_DAYS"])
    old = [
        add_job(db, created_at=cutoff - timedelta(days=days), status=status)
        for days, status in [
            (1, "complete"),
            (2, "error"),
            (3, "lost"),
            (4, "retried"),
            (30, "complete"),
        ]
    ]
    kept = [
        add_job(db, created_at=cutoff + timedelta(minutes=1)),
        add_job(db, created_at=now, status="running"),
    ]

    removed = housekeeping.prune(now)

    assert removed["job_records"] == len(old)
    assert remaining(db, JobRecord.id) == kept


def test_prune_removes_counters_past_their_longer_retention(app, db):
    now = utcnow()
    counter_cutoff = now - timedelta(days=app.config["COUNTER_RETENTION_DAYS"])
    job_cutoff = now - timedelta(days=app.config["JOB_RETENTION_DAYS"])
    for minute in (counter_cutoff - timedelta(days=1), counter_cutoff - timedelta(minutes=2)):
        add_counter(db, minute)
    kept = [counter_cutoff + timedelta(minutes=2), job_cutoff - timedelta(days=1), now]
    for minute in kept:
        add_counter(db, minute)

    removed = housekeeping.prune(now)

    assert removed["job_counters"] == 2
    assert remaining(db, JobCounter.minute) == [
        minute.replace(second=0, microsecond=0) for minute in kept
    ]


def test_prune_removes_old_sent_and_written_emails_and_keeps_the_ones_still_owed(
    app, db, small_batches
):
    now = utcnow()
    cutoff = now - timedelta(days=app.config["EMAIL_RETENTION_DAYS"])
    long_ago = cutoff - timedelta(days=1)
    old_done = [
        add_email(db, created_at=long_ago, status=status) for status in ("sent", "written") * 3
    ]
    kept = [
        # Still owed or failed for an operator: never pruned, however old.
        add_email(db, created_at=long_ago, status="queued"),
        add_email(db, created_at=long_ago, status="failed"),
        # Sent, but recently.
        add_email(db, created_at=cutoff + timedelta(minutes=1), status="sent"),
        add_email(db, created_at=now, status="written"),
    ]

    removed = housekeeping.prune(now)

    assert removed["emails"] == len(old_done)
    assert remaining(db, OutboundEmail.id) == kept


def test_prune_forgets_consumers_silent_longer_than_the_forget_time(app, db):
    now = utcnow()
    forget = timedelta(seconds=app.config["CONSUMER_FORGET_SECONDS"])
    add_consumer(db, "long-gone", last_seen_at=now - forget - timedelta(seconds=1))
    add_consumer(db, "stopped-long-ago", last_seen_at=now - forget * 2, stopped_at=now - forget * 2)
    add_consumer(db, "stale", last_seen_at=now - forget + timedelta(seconds=5))
    add_consumer(db, "alive", last_seen_at=now)

    removed = housekeeping.prune(now)

    assert removed["consumers"] == 2
    assert remaining(db, Consumer.id) == ["alive", "stale"]


def test_prune_with_nothing_old_removes_nothing(app, db):
    now = utcnow()
    job_id = add_job(db, created_at=now)
    add_counter(db, now)
    email_id = add_email(db, created_at=now, status="sent")
    add_consumer(db, "alive", last_seen_at=now)

    assert housekeeping.prune(now) == {
        "job_records": 0,
        "webhook_deliveries": 0,
        "emails": 0,
        "job_counters": 0,
        "consumers": 0,
    }
    assert remaining(db, JobRecord.id) == [job_id]
    assert remaining(db, OutboundEmail.id) == [email_id]
    assert len(remaining(db, JobCounter.minute)) == 1
    assert remaining(db, Consumer.id) == ["alive"]


# ------------------------------------------------------------------ lost jobs


def test_running_jobs_of_a_consumer_that_stopped_beating_are_marked_lost(app, db):
    now = utcnow()
    add_consumer(db, "alive", last_seen_at=now - timedelta(seconds=1))
    add_consumer(db, "stale", last_seen_at=now - timedelta(minutes=1))
    add_consumer(db, "stopped", last_seen_at=now - timedelta(seconds=1), stopped_at=now)
    started = now - timedelta(minutes=2)
    alive_job = add_job(db, created_at=started, status="running", consumer_id="alive")
    stale_job = add_job(db, created_at=started, status="running", consumer_id="stale")
    stopped_job = add_job(db, created_at=started, status="running", consumer_id="stopped")
    forgotten_job = add_job(db, created_at=started, status="running", consumer_id="pruned")
    unregistered_job = add_job(db, created_at=started, status="running", consumer_id=None)
    finished_job = add_job(db, created_at=started, status="complete", consumer_id="stale")

    assert housekeeping.mark_lost_jobs(now) == 3
    db.session.commit()

    db.session.expire_all()
    status = {job_id: db.session.get(JobRecord, job_id) for job_id in remaining(db, JobRecord.id)}
    for job_id in (stale_job, stopped_job, forgotten_job):
        record = status[job_id]
        assert (record.status, record.finished_at, record.error) == (
            "lost",
            now,
            housekeeping.LOST_ERROR,
        )
    assert status[alive_job].status == "running"
    assert status[unregistered_job].status == "running"  # nothing says its consumer died
    assert status[finished_job].status == "complete"
    assert housekeeping.mark_lost_jobs(now) == 0


def test_a_heartbeat_tick_marks_lost_jobs_and_evaluates_the_alerts(app, db):
    now = utcnow()
    add_consumer(db, "stale", last_seen_at=now - timedelta(minutes=1))
    job_id = add_job(
        db, created_at=now - timedelta(minutes=2), status="running", consumer_id="stale"
    )

    housekeeping.tick(now)

    db.session.expire_all()
    assert db.session.get(JobRecord, job_id).status == "lost"
    assert remaining(db, MonitorAlert.key) == ["job_failures", "no_consumer"]
