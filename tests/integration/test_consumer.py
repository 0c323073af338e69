"""A real Huey consumer process runs the app's tasks against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from governance.auth.models import UserSession
from governance.extensions import huey
from governance.maintenance import prune_ended_sessions, prune_ended_sessions_nightly
from governance.timeutil import utcnow
from tests import factories

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _add_sessions(db, user) -> None:
    old = utcnow() - timedelta(days=40)
    db.session.add_all(
        [
            UserSession(user_id=user.id, token_hash="a" * 64, created_at=old, revoked_at=old),
            UserSession(user_id=user.id, token_hash="b" * 64, created_at=old),
            UserSession(user_id=user.id, token_hash="c" * 64),
        ]
    )
    db.session.commit()


def test_pruning_removes_only_long_ended_sessions(db):
    user = factories.make_user("viewer")
    _add_sessions(db, user)
    assert prune_ended_sessions() == 2
    assert db.session.scalars(sa.select(UserSession.token_hash)).all() == ["c" * 64]


def test_a_consumer_process_runs_an_enqueued_task(app, db):
    user = factories.make_user("viewer")
    _add_sessions(db, user)
    environment = os.environ | {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]}
    consumer = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "worker", "--workers", "1"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # Huey keeps no results for periodic tasks: watch the database for the effect instead.
        prune_ended_sessions_nightly()
        deadline = time.monotonic() + 30
        while _session_count(db) != 1 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        consumer.send_signal(signal.SIGTERM)
        output = consumer.communicate(timeout=20)[0].decode()
    assert _session_count(db) == 1, output
    assert "Executing governance.maintenance.prune_ended_sessions_nightly" in output
    assert huey.pending_count() == 0


def _session_count(db) -> int:
    db.session.expire_all()
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(UserSession))
