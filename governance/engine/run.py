"""Running one step: claim it, run its step type, and record what came of it.

Only a consumer that holds the step (status running, at the attempt it claimed) may record
its outcome: every write here is conditional on that, so a duplicate or late message, or a
consumer whose lease expired, changes nothing. The outcome says which, for the task wrapper.
"""

from __future__ import annotations

import functools
import logging
import socket
import traceback
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from governance.dbutil import rowcount
from governance.engine import advance, backoff, conditions, context, statements
from governance.engine.lifecycle import RunOutcome, StepRunStatus
from governance.engine.models import Execution, StepAttempt, StepRun
from governance.engine.steps import Outcome, StepContext, get_step_type
from governance.engine.templating import TemplateError
from governance.extensions import db
from governance.timeutil import utcnow

log = logging.getLogger(__name__)
CONSUMER_NAME = f"{socket.gethostname()}"


def claim_step(step_run_id: int, *, lease_seconds: float) -> StepRun | None:
    """Take a queued step for this consumer: one conditional UPDATE, then commit.

    Only one claimant can move a row from queued to running; a duplicate message, a late
    message or a second consumer finds nothing to claim and returns None.
    """
    now = utcnow()
    attempt = db.session.scalar(
        statements.CLAIM,
        {
            "step_run_id": step_run_id,
            "now": now,
            "lease_end": now + timedelta(seconds=lease_seconds),
        },
    )
    if attempt is None:
        db.session.rollback()
        return None
    db.session.execute(
        statements.OPEN_ATTEMPT,
        {
            "step_run_id": step_run_id,
            "number": attempt,
            "started_at": now,
            "consumer": CONSUMER_NAME,
        },
    )
    db.session.commit()
    statement = _load_for_run(context.generation())
    return db.session.scalars(statement, {"step_run_id": step_run_id}).one()


@functools.cache
def _load_for_run(providers_generation: int) -> sa.Select:
    """The step, with what a run reads of its execution, workflow and version, and what the
    context providers read of its subject (their eager loads).

    Built on first use rather than at import (loader options configure every mapper, and at
    import some models may not be defined yet), and again only if the providers change.
    """
    extra = [
        option for provider in context.providers().values() for option in provider.eager_loads()
    ]
    return (
        sa.select(StepRun)
        .where(StepRun.id == sa.bindparam("step_run_id"))
        .options(so.joinedload(StepRun.execution).joinedload(Execution.version), *extra)
    )


def build_data(execution: Execution) -> dict[str, Any]:
    """What templates and conditions see: plain values, never ORM objects."""
    steps = {
        key: {"output": output or {}, "status": status}
        for key, status, output in db.session.execute(
            statements.STEP_RESULTS, {"execution": execution.id}
        )
    }
    return context.subject_data(execution.policy_id) | {
        "trigger": dict(execution.trigger_data or {}),
        "steps": steps,
        "execution": {
            "id": execution.id,
            "workflow": execution.workflow.name if execution.workflow else None,
        },
    }


def make_context(step_run: StepRun, *, live: bool = True) -> tuple[StepContext, dict[str, Any]]:
    execution = step_run.execution
    step = execution.version.find_step(step_run.step_key)
    context = StepContext(
        step_run_id=step_run.id,
        execution_id=execution.id,
        step_key=step_run.step_key,
        attempt=step_run.attempt,
        config=step["config"],
        policy_id=execution.policy_id,
        actor_id=execution.actor_id,
        data=build_data(execution),
        previous_output=dict(step_run.output or {}),
        live=live,
    )
    return context, step


def run_claimed_step(step_run: StepRun) -> RunOutcome:
    """Run a step this consumer claimed, and record what happened (commits)."""
    attempt = step_run.attempt
    step_run_id = step_run.id
    execution = step_run.execution
    if execution.is_finished:
        ended = "The execution had ended."
        if not _finish_step(step_run_id, attempt, StepRunStatus.CANCELLED, error=ended):
            db.session.rollback()
            return RunOutcome.LOST_LEASE
        db.session.commit()
        return RunOutcome.CANCELLED
    context, step = make_context(step_run)
    when = step.get("when")
    if when and not conditions.evaluate(when, context.data):
        skipped = {"skipped": "condition false"}
        _finish_step(step_run_id, attempt, StepRunStatus.SKIPPED, output=skipped)
        advance.advance_past(step_run)
        db.session.commit()
        return RunOutcome.SKIPPED
    action = get_step_type(step_run.step_type)
    try:
        outcome = action.run(context)
    except TemplateError as error:
        # Refused by the sandbox or its render budget: every attempt would be, so no retry.
        db.session.rollback()
        return record_failure(step_run_id, attempt, Outcome.failed(str(error)), None)
    except Exception as error:  # a step's failure is data, not a crash of the consumer
        db.session.rollback()
        log.warning("Step run %s attempt %s raised", step_run_id, attempt, exc_info=True)
        outcome = Outcome("retry", error=f"{type(error).__name__}: {error}")
        return record_failure(step_run_id, attempt, outcome, traceback.format_exc())
    if outcome.status in ("retry", "failed"):
        db.session.rollback()
        return record_failure(step_run_id, attempt, outcome, None)
    if outcome.status == "waiting":
        if not _park_step(step_run_id, attempt, outcome):
            db.session.rollback()
            return RunOutcome.LOST_LEASE
        _commit_with_records(outcome)
        return RunOutcome.WAITING
    # Succeeded: the action's internal effects and the step's success commit together, and
    # only if this consumer still holds the step (attempt unchanged, still running).
    if not _finish_step(step_run_id, attempt, StepRunStatus.SUCCEEDED, output=outcome.output):
        db.session.rollback()
        log.warning(
            "Step run %s attempt %s lost its lease; its effects were undone", step_run_id, attempt
        )
        return RunOutcome.LOST_LEASE
    advance.advance_past(step_run)
    _commit_with_records(outcome)
    return RunOutcome.SUCCEEDED


def _step_is_mine(step_run_id: int, attempt: int):
    return sa.and_(
        StepRun.id == step_run_id,
        StepRun.status == StepRunStatus.RUNNING,
        StepRun.attempt == attempt,
    )


def _close_attempt(step_run_id: int, attempt: int, outcome: str, error=None, trace=None) -> None:
    db.session.execute(
        statements.CLOSE_ATTEMPT,
        {
            "attempt_of": step_run_id,
            "held_attempt": attempt,
            "now": utcnow(),
            "new_outcome": outcome,
            "new_error": error,
            "new_traceback": trace,
        },
    )


def _finish_step(
    step_run_id: int,
    attempt: int,
    status: StepRunStatus,
    *,
    output: dict[str, Any] | None = None,
    error: str | None = None,
    trace: str | None = None,
) -> bool:
    """Mark a step this consumer holds as finished (no commit). False if it is no longer ours."""
    changed = db.session.execute(
        statements.FINISH_STEP,
        {
            "step_run_id": step_run_id,
            "held_attempt": attempt,
            "new_status": status,
            "now": utcnow(),
            "new_output": output,
            "new_error": error,
        },
    )
    if rowcount(changed) != 1:
        return False
    _close_attempt(step_run_id, attempt, status, error, trace)
    return True


def _park_step(step_run_id: int, attempt: int, outcome: Outcome) -> bool:
    changed = db.session.execute(
        sa.update(StepRun)
        .where(_step_is_mine(step_run_id, attempt))
        .values(
            status=StepRunStatus.WAITING,
            lease_until=None,
            output=outcome.output,
            next_attempt_at=outcome.resume_at,
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(changed) != 1:
        return False
    _close_attempt(step_run_id, attempt, StepRunStatus.WAITING)
    execution_id = db.session.execute(
        sa.select(StepRun.execution_id).where(StepRun.id == step_run_id)
    ).scalar_one()
    advance.refresh_execution_status(execution_id)
    return True


def record_failure(
    step_run_id: int, attempt: int, outcome: Outcome, trace: str | None
) -> RunOutcome:
    """After a failed attempt: queue a retry with back-off, or fail the step and execution."""
    step_run = db.session.get_one(StepRun, step_run_id)
    db.session.refresh(step_run)
    permanent = outcome.status == "failed"
    if not permanent and attempt < step_run.max_attempts:
        retry = step_run.execution.version.find_step(step_run.step_key).get("retry", {})
        delay = outcome.retry_after or backoff.retry_delay(
            attempt,
            base_seconds=retry.get("base_seconds", 10),
            kind=retry.get("backoff", "exponential"),
            cap_seconds=current_app.config["STEP_RETRY_CAP_SECONDS"],
        )
        next_at = utcnow() + timedelta(seconds=delay)
        changed = db.session.execute(
            sa.update(StepRun)
            .where(_step_is_mine(step_run_id, attempt))
            .values(
                status=StepRunStatus.QUEUED,
                lease_until=None,
                queued_at=utcnow(),
                next_attempt_at=next_at,
                error=outcome.error,
            )
            .execution_options(synchronize_session=False)
        )
        if rowcount(changed) != 1:
            db.session.rollback()
            return RunOutcome.LOST_LEASE
        _close_attempt(step_run_id, attempt, "retry", outcome.error, trace)
        _commit_with_records(outcome)
        # The task wrapper asks Huey to send this step again when due (see jobs.run_step).
        return RunOutcome.RETRYING
    failed = StepRunStatus.FAILED
    if not _finish_step(step_run_id, attempt, failed, error=outcome.error, trace=trace):
        db.session.rollback()
        return RunOutcome.LOST_LEASE
    error = f"Step “{step_run.step_key}” failed: {outcome.error}"
    advance.fail_execution(step_run.execution_id, error)
    _commit_with_records(outcome)
    return RunOutcome.FAILED


def failure_report(step_run_id: int) -> tuple[str, str | None, datetime | None]:
    """(error, traceback, when the retry is due) of a step's latest failed attempt: what the
    task wrapper hands Huey, so the job record tells the same story as the step."""
    row = db.session.execute(
        sa.select(StepRun.error, StepRun.next_attempt_at, StepAttempt.traceback)
        .outerjoin(
            StepAttempt,
            sa.and_(StepAttempt.step_run_id == StepRun.id, StepAttempt.number == StepRun.attempt),
        )
        .where(StepRun.id == step_run_id)
    ).one()
    return row.error or "The step failed.", row.traceback, row.next_attempt_at


def _commit_with_records(outcome: Outcome) -> None:
    """Commit the step's outcome with the rows its step type records (Outcome.records), on
    every path that keeps the outcome: what happened outside Steward is written exactly when
    the outcome is."""
    db.session.add_all(outcome.records)
    db.session.commit()
