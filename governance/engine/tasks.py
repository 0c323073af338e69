"""The Huey tasks of the engine. They carry only ids; the database says what to do."""

from __future__ import annotations

import logging

from flask import current_app

from governance.engine import runtime
from governance.queue import task

log = logging.getLogger(__name__)


# A fixed name (Huey drops messages for names it does not know) and no Huey retries: attempts,
# back-off and next_attempt_at live in the database, where a dead consumer cannot lose them.
@task(name="steward.run_step", retries=0)
def run_step(step_run_id: int) -> str:
    step_run = runtime.claim_step(
        step_run_id, lease_seconds=current_app.config["STEP_TIMEOUT_SECONDS"]
    )
    if step_run is None:
        return "not-claimed"
    return runtime.run_claimed_step(step_run)
