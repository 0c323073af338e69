"""The engine's one Huey task: run a step. It carries only the id; the database says what to do."""

from __future__ import annotations

import logging

from flask import current_app

from governance.engine import run
from governance.engine.handoff import RUN_STEP
from governance.engine.lifecycle import RunOutcome
from governance.queue import JobFailed, retry_later, task

log = logging.getLogger(__name__)


def execute_step(step_run_id: int) -> RunOutcome:
    """Claim and run one step here and now, and say what came of it. What the task runs,
    without Huey's reporting."""
    step_run = run.claim_step(step_run_id, lease_seconds=current_app.config["STEP_TIMEOUT_SECONDS"])
    if step_run is None:
        return RunOutcome.NOT_CLAIMED
    return run.run_claimed_step(step_run)


# A fixed name (Huey drops messages for names it does not know). Attempts, back-off and
# next_attempt_at live in the database, where a dead consumer cannot lose them; Huey only
# carries the retry and reports it, so the queue page shows what the engine does.
@task(name=RUN_STEP, retries=0)
def run_step(step_run_id: int) -> str:
    outcome = execute_step(step_run_id)
    if outcome in (RunOutcome.RETRYING, RunOutcome.FAILED):
        error, trace, due_at = run.failure_report(step_run_id)
        if outcome == RunOutcome.RETRYING:
            raise retry_later(error, due_at)
        raise JobFailed(error, trace)
    return outcome.value  # a plain string in Huey's result store
