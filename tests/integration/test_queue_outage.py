"""Redis unreachable at enqueue time: the trigger still succeeds and nothing is lost.

A separate process is pointed at a Redis port where nothing listens (the queue transport is
chosen from the environment when the process starts), against the test database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import sqlalchemy as sa

from governance.engine import reconciler
from governance.engine.models import Execution, StepRun
from governance.tasks.models import Task
from tests import factories

PROJECT_ROOT = Path(__file__).resolve().parents[2]

SUBMIT = textwrap.dedent(
    """
    import time
    from app import app
    from governance.auth.models import User
    from governance.extensions import db
    from governance.policies import service
    with app.app_context():
        owner = db.session.get(User, {owner_id})
        service.transition_policy({policy_id}, "in_review", actor=owner)
        print("submitted")
    time.sleep(2)  # an inline fallback runs in a thread: give it time to finish
    """
)


def _submit_with_redis_down(app, users, policy, fallback: str) -> subprocess.CompletedProcess:
    environment = os.environ | {
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "QUEUE_FALLBACK": fallback,
    }
    script = SUBMIT.format(owner_id=users["owner"].id, policy_id=policy.id)
    return subprocess.run(  # noqa: S603 - our own code, fixed arguments
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _workflow(users):
    factories.make_workflow(
        users["admin"],
        trigger={"type": "policy.status_changed", "to_status": "in_review"},
        stages=[[factories.step("todo", "create_task", {"title": "Read", "assignee": "owner"})]],
    )


def test_a_trigger_succeeds_with_redis_down_and_the_reconciler_sends_the_step_later(app, db, users):
    _workflow(users)
    policy = factories.make_policy(users["owner"])
    result = _submit_with_redis_down(app, users, policy, fallback="")
    assert result.returncode == 0, result.stderr
    assert "submitted" in result.stdout
    assert "stays queued" in result.stderr
    db.session.expire_all()
    assert db.session.scalar(sa.select(StepRun.status)) == "queued"
    # Redis is back (here: the test's own transport); the reconciler re-sends stale steps.
    app.config["STALE_QUEUED_SECONDS"] = 0
    try:
        assert reconciler.reconcile()["stale_queued"] == 1
    finally:
        app.config["STALE_QUEUED_SECONDS"] = 30
    factories.run_queued_steps()
    assert db.session.scalar(sa.select(Execution.status)) == "succeeded"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Task)) == 1


def test_inline_fallback_runs_the_step_in_process_when_redis_is_down(app, db, users):
    _workflow(users)
    policy = factories.make_policy(users["owner"])
    result = _submit_with_redis_down(app, users, policy, fallback="inline")
    assert result.returncode == 0, result.stderr
    db.session.expire_all()
    assert db.session.scalar(sa.select(Execution.status)) == "succeeded", result.stderr
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Task)) == 1
