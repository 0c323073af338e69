"""The Huey tasks of the engine. They carry only ids; the database says what to do."""

from __future__ import annotations

import logging

from flask import current_app

from governance.engine import runtime
from governance.engine.handoff import RUN_STEP
from governance.queue import JobFailed, retry_later, task

log = logging.getLogger(__name__)


def execute_step(step_run_id: int) -> str:
    """Claim and run one step here and now; returns its outcome ("succeeded", "retrying",
    "failed", "waiting", "not-claimed", ...). What the task runs, without Huey's reporting."""
    step_run = runtime.claim_step(
        step_run_id, lease_seconds=current_app.config["STEP_TIMEOUT_SECONDS"]
    )
    if step_run is None:
        return "not-claimed"
    return runtime.run_claimed_step(step_run)


# A fixed name (Huey drops messages for names it does not know). Attempts, back-off and
# next_attempt_at live in the database, where a dead consumer cannot lose them; Huey only
# carries the retry and reports it, so the queue page shows what the engine does.
@task(name=RUN_STEP, retries=0)
def run_step(step_run_id: int) -> str:
    outcome = execute_step(step_run_id)
    if outcome in ("retrying", "failed"):
        error, trace, due_at = runtime.failure_report(step_run_id)
        if outcome == "retrying":
            raise retry_later(error, due_at)
        raise JobFailed(error, trace)
    return outcome
