"""Queue health with real consumer processes: what Huey's signals record while `flask worker`
runs steps that succeed, fail and retry, and how heartbeats show consumers alive, stale
(killed) and stopped, on the page and in /health/queues."""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from governance.engine.models import Execution, StepRun
from governance.queues.models import DURATION_BUCKET_COLUMNS, Consumer, JobCounter, JobRecord
from tests import factories
from tests.consumers import running_consumer
from tests.factories import make_workflow, step

HEARTBEAT_SECONDS = 1.0
CREATED = {"type": "policy.created"}
FAST_RETRY = {"attempts": 3, "backoff": "fixed", "base_seconds": 0}
UNFINISHED_JOB = ("enqueued", "scheduled", "running", "retrying")


class _FlakyReceiver(BaseHTTPRequestHandler):
    """/flaky answers 500 the first time and 200 after; /gone always answers 410."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server = self.server
        with server.lock:
            server.calls.append(self.path)
            seen = server.calls.count(self.path)
        if self.path == "/gone":
            status = 410
        elif self.path == "/flaky":
            status = 500 if seen == 1 else 200
        else:
            status = 204
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FlakyReceiver)
    server.daemon_threads = True
    server.lock = threading.Lock()
    server.calls = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def fast_heartbeats(app):
    """The test app judges staleness on the same short heartbeat the consumers use."""
    saved = app.config["HEARTBEAT_SECONDS"], app.config["WEBHOOK_ALLOWLIST"]
    app.config["HEARTBEAT_SECONDS"] = HEARTBEAT_SECONDS
    app.config["WEBHOOK_ALLOWLIST"] = ["127.0.0.1"]
    try:
        yield {"HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS)}
    finally:
        app.config["HEARTBEAT_SECONDS"], app.config["WEBHOOK_ALLOWLIST"] = saved


def _wait_until(check: Callable[[], object], what: str, timeout: float = 30) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.1)


def _fresh(db) -> None:
    db.session.rollback()
    db.session.expire_all()


def _consumer_id(db, process) -> str:
    """The id the consumer process registered under (its heartbeat row names its pid)."""

    def registered():
        _fresh(db)
        return db.session.scalar(sa.select(Consumer.id).where(Consumer.pid == process.pid))

    return _wait_until(registered, f"consumer pid {process.pid} registering")


def _figures(html: str) -> dict[str, str]:
    return dict(re.findall(r'<dd id="figure-([a-z]+)">([^<]*)<', html))


def _consumer_state(html: str, consumer_id: str) -> str | None:
    """The state the consumers table shows for this consumer (its row class and its badge)."""
    match = re.search(
        rf'<tr class="consumer-([a-z]+)" data-consumer="{consumer_id}">\s*'
        r'<td><span class="badge consumer-state-([a-z]+)">([a-z]+)</span>',
        html,
    )
    if match is None:
        return None
    row_class, badge_class, badge_text = match.groups()
    assert row_class == badge_class == badge_text, match.group(0)
    return row_class


def test_a_consumer_records_succeeded_failed_and_retried_jobs_on_the_page_and_health(
    app, db, users, login, receiver, fast_heartbeats
):
    base = f"http://127.0.0.1:{receiver.server_address[1]}"
    # A flaky webhook next to a plain step, then a second stage; and a workflow whose
    # webhook is refused for good (410: retrying will not change it).
    make_workflow(
        users["admin"],
        name="Flaky",
        trigger=CREATED,
        stages=[
            [
                step("flaky", "webhook", {"url": f"{base}/flaky"}, retry=FAST_RETRY),
                step("todo", "create_task", {"title": "Read it", "assignee": "owner"}),
            ],
            [step("later", "create_task", {"title": "Then this", "assignee": "owner"})],
        ],
    )
    make_workflow(
        users["admin"],
        name="Broken",
        trigger=CREATED,
        stages=[[step("gone", "webhook", {"url": f"{base}/gone"}, retry=FAST_RETRY)]],
    )
    admin = login(users["admin"])

    with running_consumer(app, **fast_heartbeats) as consumer:
        consumer_id = _consumer_id(db, consumer.process)
        factories.make_policy(users["owner"])

        def all_jobs_finished():
            _fresh(db)
            executions = db.session.scalars(sa.select(Execution.status)).all()
            jobs = db.session.scalars(
                sa.select(JobRecord.status).where(JobRecord.task_name == "steward.run_step")
            ).all()
            return (
                sorted(executions) == ["failed", "succeeded"]
                and len(jobs) == 4
                and not set(jobs) & set(UNFINISHED_JOB)
            )

        _wait_until(all_jobs_finished, "both executions and their jobs finishing")
        # The consumer is idle and alive: what the page and /health/queues say now.
        health = admin.get("/health/queues")
        live = admin.get("/admin/queues/live").get_data(as_text=True)
        failed_page = admin.get("/admin/queues/failed").get_data(as_text=True)
    assert consumer.process.returncode == 0, consumer.output()

    _fresh(db)
    step_ids = dict(db.session.execute(sa.select(StepRun.step_key, StepRun.id)).all())
    jobs = {
        job.step_run_id: job
        for job in db.session.scalars(
            sa.select(JobRecord).where(JobRecord.task_name == "steward.run_step")
        )
    }
    assert set(jobs) == set(step_ids.values()), consumer.output()
    flaky, todo, later, gone = (jobs[step_ids[key]] for key in ("flaky", "todo", "later", "gone"))
    # The retry went through Huey under the same task id: one record, two attempts.
    assert (flaky.status, flaky.attempts, flaky.error) == ("complete", 2, None)
    assert (todo.status, todo.attempts) == ("complete", 1)
    assert (later.status, later.attempts) == ("complete", 1)
    assert (gone.status, gone.attempts) == ("error", 1)
    assert f"HTTP 410 from {base}/gone" in gone.error
    assert "Traceback (most recent call last)" in gone.traceback
    for job in (flaky, todo, later, gone):
        assert job.consumer_id == consumer_id
        assert job.duration_ms is not None and job.duration_ms >= 0
        assert job.started_at is not None and job.finished_at >= job.started_at
        assert job.args == [job.step_run_id]
    assert receiver.calls.count("/flaky") == 2 and receiver.calls.count("/gone") == 1

    sums = db.session.execute(
        sa.select(
            *(
                sa.func.sum(JobCounter.__table__.c[column])
                for column in (
                    "started",
                    "succeeded",
                    "failed",
                    "retried",
                    *DURATION_BUCKET_COLUMNS,
                )
            )
        ).where(JobCounter.task_name == "steward.run_step")
    ).one()
    started, succeeded, failed, retried, *buckets = sums
    # Five attempts: flaky twice, todo, later, gone; each ended in exactly one bucket.
    assert (started, succeeded, failed, retried, sum(buckets)) == (5, 3, 1, 1, 5)
    # Periodic housekeeping may run in the consumer while the test does (hourly, at :23).
    others_completed, others_failed = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(JobCounter.succeeded), 0),
            sa.func.coalesce(sa.func.sum(JobCounter.failed), 0),
        ).where(JobCounter.task_name != "steward.run_step")
    ).one()

    assert health.status_code == 200, health.get_json()
    figures = health.get_json()
    assert figures["status"] == "ok"
    assert figures["completed_last_hour"] == 3 + others_completed
    assert figures["failed_last_hour"] == 1 + others_failed
    assert figures["retried_last_hour"] == 1
    assert (figures["running"], figures["pending"], figures["scheduled"]) == (0, 0, 0)
    assert figures["consumers_alive"] == 1
    assert "problems" not in figures

    shown = _figures(live)
    assert shown["completed"] == str(figures["completed_last_hour"])
    assert shown["failed"] == str(figures["failed_last_hour"])
    assert (shown["running"], shown["pending"], shown["scheduled"]) == ("0", "0", "0")
    assert shown["consumers"] == "1"
    assert _consumer_state(live, consumer_id) == "alive"
    assert 'id="throughput-chart"' in live and "steward.run_step" in live

    assert f'id="job-row-{gone.id}"' in failed_page
    assert f"HTTP 410 from {base}/gone" in failed_page
    for finished in (flaky, todo, later):
        assert f'id="job-row-{finished.id}"' not in failed_page


def test_a_killed_consumer_goes_stale_and_503_until_another_beats_and_a_stopped_one_shows_stopped(
    app, db, users, login, fast_heartbeats
):
    admin = login(users["admin"])

    def page() -> str:
        return admin.get("/admin/queues/live").get_data(as_text=True)

    with running_consumer(app, workers=1, **fast_heartbeats) as first:
        first_id = _consumer_id(db, first.process)
        _wait_until(lambda: admin.get("/health/queues").status_code == 200, "a healthy queue")
        assert _consumer_state(page(), first_id) == "alive"

        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
        # No graceful shutdown ran: only missed heartbeats tell that it is gone.
        _wait_until(
            lambda: _consumer_state(page(), first_id) == "stale", "the consumer going stale"
        )
    health = admin.get("/health/queues")
    assert health.status_code == 503
    unhealthy = health.get_json()
    assert unhealthy["status"] == "unhealthy"
    assert unhealthy["consumers_alive"] == 0
    assert any("heartbeat" in problem for problem in unhealthy["problems"]), unhealthy
    live = page()
    assert _figures(live)["consumers"] == "0"
    assert _consumer_state(live, first_id) == "stale"

    with running_consumer(app, workers=1, **fast_heartbeats) as second:
        second_id = _consumer_id(db, second.process)

        def healthy_figures():
            response = admin.get("/health/queues")
            return response.get_json() if response.status_code == 200 else None

        recovered = _wait_until(healthy_figures, "the queue turning healthy again")
        assert recovered["consumers_alive"] == 1
        assert "problems" not in recovered
        live = page()
        assert _consumer_state(live, second_id) == "alive"
        assert _consumer_state(live, first_id) == "stale"
        assert _figures(live)["consumers"] == "1"
    # Leaving the block sent SIGTERM: a graceful stop is "stopped", not stale.
    assert second.process.returncode == 0, second.output()
    live = page()
    assert _consumer_state(live, second_id) == "stopped"
    assert _consumer_state(live, first_id) == "stale"
    assert _figures(live)["consumers"] == "0"
    assert admin.get("/health/queues").status_code == 503
