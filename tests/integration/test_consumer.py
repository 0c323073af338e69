"""A real Huey consumer process runs the app's tasks against the test database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import sqlalchemy as sa

from governance.auth.models import UserSession
from governance.engine.models import Execution
from governance.extensions import huey
from governance.maintenance import prune_ended_sessions, prune_ended_sessions_nightly
from governance.notifications.models import Notification
from governance.policies import service as policies
from governance.policies.models import Policy
from governance.timeutil import utcnow
from governance.webhooks.signing import sign_standard_webhook
from tests import factories
from tests.consumers import running_consumer
from tests.factories import count_committed

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
        while count_committed(db, UserSession) != 1 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        consumer.send_signal(signal.SIGTERM)
        output = consumer.communicate(timeout=20)[0].decode()
    assert count_committed(db, UserSession) == 1, output
    assert "Executing governance.maintenance.prune_ended_sessions_nightly" in output
    assert huey.pending_count() == 0


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict, bytes]]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_consumer_runs_a_two_stage_workflow_with_a_signed_webhook(app, db, users):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.received = []
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    app.config["WEBHOOK_ALLOWLIST"] = ["127.0.0.1"]
    try:
        workflow = factories.make_workflow(
            users["admin"],
            trigger={"type": "policy.status_changed", "to_status": "in_review"},
            stages=[
                [
                    factories.step("tell", "notify", {"to_owner": True, "subject": "Submitted"}),
                    factories.step("hook", "webhook", {"url": url}),
                ],
                [factories.step("approve", "set_status", {"status": "approved"})],
            ],
        )
    finally:
        app.config["WEBHOOK_ALLOWLIST"] = []
    secret = workflow.signing_secret
    policy = factories.make_policy(users["owner"])
    # The consumer has no request to take a host from: links come from its STEWARD_BASE_URL.
    with running_consumer(app, STEWARD_BASE_URL="https://steward.example.org/gov/"):
        policies.transition_policy(policy.id, "in_review", actor=users["owner"])
        execution = _wait_for_execution(db, {"succeeded", "failed"})
    server.shutdown()
    assert execution.status == "succeeded", [
        (r.step_key, r.status, r.error) for r in execution.step_runs
    ]
    assert db.session.get(Policy, policy.id).status == "approved"
    assert len(_Receiver.received) == 1
    headers, body = _Receiver.received[0]
    hook_run = next(run for run in execution.step_runs if run.step_key == "hook")
    assert headers["webhook-id"] == f"steward-step-run-{hook_run.id}"
    assert headers["idempotency-key"] == headers["webhook-id"]
    expected = sign_standard_webhook(
        secret, headers["webhook-id"], int(headers["webhook-timestamp"]), body
    )
    assert headers["webhook-signature"] == expected
    assert json.loads(body)["policy"]["id"] == policy.id
    assert json.loads(body)["links"] == {
        "execution": f"https://steward.example.org/gov/executions/{execution.id}",
        "policy": f"https://steward.example.org/gov/policies/{policy.id}",
    }
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1


def _wait_for_execution(db, statuses: set[str], timeout: float = 30) -> Execution:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        db.session.expire_all()
        execution = db.session.scalars(sa.select(Execution)).first()
        if execution is not None and execution.status in statuses:
            return execution
        time.sleep(0.2)
    raise AssertionError(
        f"execution did not reach {statuses} in {timeout} s: {execution and execution.status}"
    )
