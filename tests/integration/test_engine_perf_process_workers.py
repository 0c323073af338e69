"""`flask worker --worker-type process` (what `make bench` can compare with raw Huey) runs
every step once.

Forked workers open their own database connections: the parent's pool, which its reconciler
thread uses, is dropped unclosed in each child (see `flask worker`). Here a consumer with two
worker processes and a busy reconciler runs a batch of two-stage executions; each must finish
with each effect exactly once and nothing may crash.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from governance.engine.models import FINISHED_EXECUTION_STATUSES, Execution
from governance.notifications.models import Notification
from governance.tasks.models import Task
from tests import factories
from tests.factories import count_committed, make_workflow, step

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXECUTIONS = 12


def test_process_workers_run_every_step_once(app, db, users, tmp_path):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[
            [
                step(
                    "todo", "create_task", {"title": "Read {{ policy.title }}", "assignee": "owner"}
                )
            ],
            [step("tell", "notify", {"to_owner": True, "subject": "{{ policy.title }} is new"})],
        ],
    )
    environment = os.environ | {
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "RECONCILE_INTERVAL_SECONDS": "0.2",
    }
    log = tmp_path / "consumer.log"
    command = ["-m", "flask", "--app", "app", "worker", "--workers", "2", "-k", "process"]
    with log.open("wb") as output:
        consumer = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [sys.executable, *command],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    finished = Execution.status.in_(FINISHED_EXECUTION_STATUSES)
    try:
        for _ in range(EXECUTIONS):
            factories.make_policy(users["owner"])
        deadline = time.monotonic() + 60
        while count_committed(db, Execution, finished) < EXECUTIONS and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        consumer.send_signal(signal.SIGTERM)
        consumer.wait(timeout=30)
    output = log.read_text(errors="replace")
    succeeded = count_committed(db, Execution, Execution.status == "succeeded")
    assert succeeded == EXECUTIONS, output[-4000:]
    assert count_committed(db, Task) == EXECUTIONS
    assert count_committed(db, Notification) == EXECUTIONS
    assert "Traceback" not in output, output[-4000:]
