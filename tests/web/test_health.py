"""/health and /health/queues: what load balancers and uptime checks see, without a login.

The unreachable queue is a real app built in a subprocess whose REDIS_URL points at a closed
port (the Huey transport is built when governance is imported, so it cannot be changed in
this process). Consumers are heartbeat rows, written as `flask worker` writes them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import huey as huey_package
import sqlalchemy as sa

from governance import __version__
from governance.extensions import huey
from governance.notifications.service import notify
from governance.queues.models import Consumer, JobRecord
from governance.timeutil import utcnow
from tests import factories

PROJECT_ROOT = Path(__file__).resolve().parents[2]
QUEUE_FIGURES = {
    "pending",
    "scheduled",
    "running",
    "failed_last_hour",
    "completed_last_hour",
    "consumers_alive",
    "oldest_pending_age_s",
}
NO_CONSUMER = "No consumer has sent a fresh heartbeat."


def add_consumer(db, *, seconds_ago: float = 0, name: str = "c1") -> Consumer:
    """A consumer's heartbeat row, as `flask worker` writes it."""
    now = utcnow()
    return factories.make_consumer(
        name,
        last_seen_at=now - timedelta(seconds=seconds_ago),
        started_at=now - timedelta(seconds=seconds_ago + 60),
    )


def queue_an_email(db, user) -> JobRecord:
    """An email through the outbox: its send message waits in the queue. Its job record."""
    notify([user.id], subject="Please review", body="A policy waits for you.")
    db.session.commit()
    db.session.expire_all()
    return db.session.scalars(sa.select(JobRecord).order_by(JobRecord.id.desc())).first()


def backdate_enqueue(db, record: JobRecord, seconds: float) -> None:
    db.session.execute(
        sa.update(JobRecord)
        .where(JobRecord.id == record.id)
        .values(enqueued_at=utcnow() - timedelta(seconds=seconds))
    )
    db.session.commit()


# ------------------------------------------------------------------ /health


def test_health_answers_ok_without_login_and_reveals_nothing(app, client):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True).lower()
    for secret in (
        app.config["SQLALCHEMY_DATABASE_URI"].lower(),
        "redis",
        "sqlite",
        "postgres",
        "127.0.0.1",
        __version__,
        huey_package.__version__,
    ):
        assert secret not in body


def test_health_answers_503_naming_the_queue_when_its_storage_is_unreachable(app):
    script = textwrap.dedent(
        """
        import json
        from governance import create_app

        app = create_app({"TESTING": True})
        response = app.test_client().get("/health")
        print(json.dumps({
            "status": response.status_code,
            "json": response.get_json(),
            "cache": response.headers.get("Cache-Control"),
            "body": response.get_data(as_text=True),
        }))
        """
    )
    environment = os.environ | {
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": "redis://127.0.0.1:1/0",  # nothing listens on port 1
    }

    result = subprocess.run(  # noqa: S603 - our own app, fixed arguments
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503
    assert answer["json"] == {"status": "unavailable", "failed": ["queue"]}
    assert answer["cache"] == "no-store"
    assert "127.0.0.1" not in answer["body"] and "redis" not in answer["body"].lower()


# ------------------------------------------------------------------ /health/queues


def test_health_queues_is_503_without_a_consumer_naming_the_problem(client, db):
    response = client.get("/health/queues")

    assert response.status_code == 503
    payload = response.get_json()
    assert payload.keys() >= QUEUE_FIGURES
    assert payload["consumers_alive"] == 0
    assert payload["status"] == "unhealthy"
    assert payload["problems"] == [NO_CONSUMER]
    assert response.headers["Cache-Control"] == "no-store"


def test_health_queues_counts_a_stale_consumer_as_dead(client, db):
    add_consumer(db, seconds_ago=60)

    payload = client.get("/health/queues").get_json()

    assert payload["consumers_alive"] == 0
    assert payload["problems"] == [NO_CONSUMER]


def test_health_queues_is_200_with_a_fresh_consumer_and_nothing_waiting(client, db):
    add_consumer(db)

    response = client.get("/health/queues")

    assert response.status_code == 200
    payload = response.get_json()
    assert payload["status"] == "ok"
    assert "problems" not in payload
    assert payload["consumers_alive"] == 1
    assert payload["pending"] == 0
    assert payload["oldest_pending_age_s"] == 0


def test_health_queues_is_503_naming_the_lag_when_the_oldest_waiting_job_is_too_old(
    app, client, db, monkeypatch
):
    monkeypatch.setitem(app.config, "QUEUE_LAG_LIMIT_SECONDS", 60)
    reader = factories.make_user("viewer")
    oldest = queue_an_email(db, reader)
    newest = queue_an_email(db, reader)
    assert huey.pending_count() == 2
    # Only the next job to run counts: an old record behind a fresh one is no lag.
    backdate_enqueue(db, newest, 600)
    add_consumer(db)
    healthy = client.get("/health/queues")
    assert healthy.status_code == 200, healthy.get_json()
    assert healthy.get_json()["pending"] == 2

    backdate_enqueue(db, oldest, 600)
    response = client.get("/health/queues")

    assert response.status_code == 503
    payload = response.get_json()
    assert payload["consumers_alive"] == 1
    assert payload["pending"] == 2
    assert 600 <= payload["oldest_pending_age_s"] < 700
    [problem] = payload["problems"]
    waited = re.fullmatch(r"The oldest waiting job has waited (\d+) s \(limit 60 s\)\.", problem)
    assert waited and int(waited.group(1)) >= 600, problem
