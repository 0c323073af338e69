"""The execution model: start an execution, claim a step, record its outcome, advance stages.

The database is the truth. Huey only carries step-run ids, and only after the transaction
that made the step runnable has committed (see enqueue.py). Every state change of a step is
a conditional UPDATE, so a duplicate or late message, or a second reconciler, changes nothing.
"""

from __future__ import annotations

import logging
import socket
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from governance.approvals.models import ApprovalRequest
from governance.audit.service import record_event
from governance.engine import backoff, conditions
from governance.engine.actions import Outcome, StepContext, get_action
from governance.engine.enqueue import enqueue_after_commit
from governance.engine.models import (
    FINISHED_STEP_STATUSES,
    Execution,
    StepAttempt,
    StepRun,
)
from governance.errors import DomainError
from governance.extensions import db
from governance.lookup import get_or_raise
from governance.policies.models import Policy
from governance.timeutil import utcnow
from governance.workflows.models import Workflow, WorkflowVersion

log = logging.getLogger(__name__)
CONSUMER_NAME = f"{socket.gethostname()}"


# ---------------------------------------------------------------- starting


def policy_snapshot(policy: Policy | None) -> dict[str, Any]:
    if policy is None:
        return {}
    return {
        "id": policy.id,
        "title": policy.title,
        "status": policy.status,
        "category": policy.category,
        "tags": policy.tag_list,
        "owner": policy.owner.email if policy.owner else None,
        "owner_id": policy.owner_id,
        "owner_name": policy.owner.name if policy.owner else None,
        "revision": policy.current_revision,
        "next_review_on": policy.next_review_on.isoformat() if policy.next_review_on else None,
    }


def step_definitions(version: WorkflowVersion) -> list[tuple[int, int, dict[str, Any]]]:
    """(stage index, position, step) for every step of a version, in order."""
    return [
        (stage_index, position, step)
        for stage_index, stage in enumerate(version.definition["stages"])
        for position, step in enumerate(stage["steps"])
    ]


def find_step(version: WorkflowVersion, key: str) -> dict[str, Any]:
    return next(step for _, _, step in step_definitions(version) if step["key"] == key)


def start_execution(
    workflow: Workflow,
    *,
    policy_id: int | None,
    trigger_type: str,
    trigger_data: dict[str, Any],
    actor_id: int | None,
) -> Execution:
    """Create the execution, pinned to the active version, and its step runs (no commit).

    The first stage's steps are queued and handed to Huey once the caller's transaction
    commits: the change that fired the trigger and the execution land together or not at all.
    """
    version = workflow.active_version
    if version is None:
        raise DomainError(f"The workflow “{workflow.name}” has no active version.")
    execution = Execution(
        workflow_id=workflow.id,
        version_id=version.id,
        policy_id=policy_id,
        status="running",
        trigger_type=trigger_type,
        trigger_data=trigger_data,
        actor_id=actor_id,
        current_stage=0,
    )
    db.session.add(execution)
    db.session.flush()
    now = utcnow()
    first_stage: list[StepRun] = []
    for stage_index, position, step in step_definitions(version):
        run = StepRun(
            execution_id=execution.id,
            stage_index=stage_index,
            position=position,
            step_key=step["key"],
            step_type=step["type"],
            status="queued" if stage_index == 0 else "pending",
            queued_at=now if stage_index == 0 else None,
            max_attempts=step.get("retry", {}).get("attempts", 5),
        )
        db.session.add(run)
        if stage_index == 0:
            first_stage.append(run)
    db.session.flush()
    enqueue_after_commit([run.id for run in first_stage])
    return execution


# ---------------------------------------------------------------- claiming


def claim_step(step_run_id: int, *, lease_seconds: float) -> StepRun | None:
    """Take a queued step for this consumer: one conditional UPDATE, then commit.

    Only one claimant can move a row from queued to running; a duplicate message, a late
    message or a second consumer finds nothing to claim and returns None.
    """
    now = utcnow()
    attempt = db.session.scalar(
        sa.update(StepRun)
        .where(
            StepRun.id == step_run_id,
            StepRun.status == "queued",
            sa.or_(StepRun.next_attempt_at.is_(None), StepRun.next_attempt_at <= now),
        )
        .values(
            status="running",
            attempt=StepRun.attempt + 1,
            lease_until=now + timedelta(seconds=lease_seconds),
            started_at=sa.func.coalesce(StepRun.started_at, now),
        )
        .returning(StepRun.attempt)
        .execution_options(synchronize_session=False)
    )
    if attempt is None:
        db.session.rollback()
        return None
    db.session.add(
        StepAttempt(step_run_id=step_run_id, number=attempt, started_at=now, consumer=CONSUMER_NAME)
    )
    db.session.commit()
    # Everything the run needs in one query: the execution, its version and its policy.
    return db.session.scalar(
        sa.select(StepRun)
        .where(StepRun.id == step_run_id)
        .options(
            so.joinedload(StepRun.execution).joinedload(Execution.version),
            so.joinedload(StepRun.execution).joinedload(Execution.policy),
            so.joinedload(StepRun.execution).selectinload(Execution.step_runs),
        )
        .execution_options(populate_existing=True)
    )


# ---------------------------------------------------------------- running


def build_data(execution: Execution) -> dict[str, Any]:
    """What templates and conditions see: plain values, never ORM objects."""
    steps = {
        run.step_key: {"output": run.output or {}, "status": run.status}
        for run in execution.step_runs
    }
    return {
        "policy": policy_snapshot(execution.policy),
        "trigger": dict(execution.trigger_data or {}),
        "steps": steps,
        "execution": {
            "id": execution.id,
            "workflow": execution.workflow.name if execution.workflow else None,
        },
    }


def make_context(step_run: StepRun, *, live: bool = True) -> tuple[StepContext, dict[str, Any]]:
    execution = step_run.execution
    step = find_step(execution.version, step_run.step_key)
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


@dataclass
class RunResult:
    status: str
    enqueue: list[int]


def run_claimed_step(step_run: StepRun) -> str:
    """Run a step this consumer claimed, and record what happened. Returns the new status."""
    attempt = step_run.attempt
    step_run_id = step_run.id
    execution = step_run.execution
    if execution.is_finished:
        if not _finish_step(step_run_id, attempt, "cancelled", error="The execution had ended."):
            db.session.rollback()
            return "lost-lease"
        db.session.commit()
        return "cancelled"
    context, step = make_context(step_run)
    when = step.get("when")
    if when and not conditions.evaluate(when, context.data):
        _finish_step(step_run_id, attempt, "skipped", output={"skipped": "condition false"})
        advance(execution.id)
        db.session.commit()
        return "skipped"
    action = get_action(step_run.step_type)
    try:
        outcome = action.run(context)
    except Exception as error:  # a step's failure is data, not a crash of the consumer
        db.session.rollback()
        log.warning("Step run %s attempt %s raised", step_run_id, attempt, exc_info=True)
        outcome = Outcome("retry", error=f"{type(error).__name__}: {error}")
        return _record_failure(step_run_id, attempt, outcome, traceback.format_exc())
    if outcome.status in ("retry", "failed"):
        db.session.rollback()
        return _record_failure(step_run_id, attempt, outcome, None)
    if outcome.status == "waiting":
        if not _park_step(step_run_id, attempt, outcome):
            db.session.rollback()
            return "lost-lease"
        db.session.commit()
        return "waiting"
    # Succeeded: the action's internal effects and the step's success commit together, and
    # only if this consumer still holds the step (attempt unchanged, still running).
    if not _finish_step(step_run_id, attempt, "succeeded", output=outcome.output):
        db.session.rollback()
        log.warning(
            "Step run %s attempt %s lost its lease; its effects were undone", step_run_id, attempt
        )
        return "lost-lease"
    advance(execution.id)
    db.session.commit()
    return "succeeded"


def _step_is_mine(step_run_id: int, attempt: int):
    return sa.and_(
        StepRun.id == step_run_id, StepRun.status == "running", StepRun.attempt == attempt
    )


def _close_attempt(step_run_id: int, attempt: int, outcome: str, error=None, trace=None) -> None:
    db.session.execute(
        sa.update(StepAttempt)
        .where(StepAttempt.step_run_id == step_run_id, StepAttempt.number == attempt)
        .values(finished_at=utcnow(), outcome=outcome, error=error, traceback=trace)
        .execution_options(synchronize_session=False)
    )


def _finish_step(
    step_run_id: int,
    attempt: int,
    status: str,
    *,
    output: dict[str, Any] | None = None,
    error: str | None = None,
    trace: str | None = None,
) -> bool:
    """Mark a step this consumer holds as finished (no commit). False if it is no longer ours."""
    values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "lease_until": None}
    if output is not None:
        values["output"] = output
    if error is not None:
        values["error"] = error
    changed = db.session.execute(
        sa.update(StepRun)
        .where(_step_is_mine(step_run_id, attempt))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        return False
    _close_attempt(step_run_id, attempt, status, error, trace)
    return True


def _park_step(step_run_id: int, attempt: int, outcome: Outcome) -> bool:
    changed = db.session.execute(
        sa.update(StepRun)
        .where(_step_is_mine(step_run_id, attempt))
        .values(
            status="waiting",
            lease_until=None,
            output=outcome.output,
            next_attempt_at=outcome.resume_at,
        )
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        return False
    _close_attempt(step_run_id, attempt, "waiting")
    execution_id = db.session.scalar(
        sa.select(StepRun.execution_id).where(StepRun.id == step_run_id)
    )
    refresh_execution_status(execution_id)
    return True


def _retry_settings(step_run_id: int) -> dict[str, Any]:
    step_run = db.session.get(StepRun, step_run_id)
    return find_step(step_run.execution.version, step_run.step_key).get("retry", {})


def _record_failure(step_run_id: int, attempt: int, outcome: Outcome, trace: str | None) -> str:
    """After a failed attempt: queue a retry with back-off, or fail the step and execution."""
    step_run = db.session.get(StepRun, step_run_id)
    db.session.refresh(step_run)
    permanent = outcome.status == "failed"
    if not permanent and attempt < step_run.max_attempts:
        retry = _retry_settings(step_run_id)
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
                status="queued",
                lease_until=None,
                queued_at=utcnow(),
                next_attempt_at=next_at,
                error=outcome.error,
            )
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:
            db.session.rollback()
            return "lost-lease"
        _close_attempt(step_run_id, attempt, "retry", outcome.error, trace)
        db.session.commit()
        enqueue_after_commit([step_run_id], delay=delay, commit_now=True)
        return "retrying"
    if not _finish_step(step_run_id, attempt, "failed", error=outcome.error, trace=trace):
        db.session.rollback()
        return "lost-lease"
    fail_execution(step_run.execution_id, f"Step “{step_run.step_key}” failed: {outcome.error}")
    db.session.commit()
    return "failed"


# ---------------------------------------------------------------- advancing


def refresh_execution_status(execution_id: int) -> None:
    """running while some step is queued or running; waiting when all open steps are parked."""
    statuses = set(
        db.session.scalars(
            sa.select(StepRun.status).where(
                StepRun.execution_id == execution_id,
                StepRun.status.not_in(FINISHED_STEP_STATUSES | {"pending"}),
            )
        )
    )
    new_status = "waiting" if statuses and statuses <= {"waiting"} else "running"
    db.session.execute(
        sa.update(Execution)
        .where(Execution.id == execution_id, Execution.status.in_(("running", "waiting")))
        .values(status=new_status)
        .execution_options(synchronize_session=False)
    )


def advance(execution_id: int) -> None:
    """When every step of the current stage has finished, start the next (or finish)."""
    # Lock the execution row: two steps of a stage finishing at once advance it one at a time.
    db.session.execute(
        sa.select(Execution.id).where(Execution.id == execution_id).with_for_update()
    )
    execution = db.session.get(Execution, execution_id, populate_existing=True)
    if execution.is_finished:
        return
    stage = execution.current_stage
    open_steps = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(StepRun)
        .where(
            StepRun.execution_id == execution_id,
            StepRun.stage_index == stage,
            StepRun.status.not_in(FINISHED_STEP_STATUSES),
        )
    )
    if open_steps:
        refresh_execution_status(execution_id)
        return
    stage_count = len(execution.version.definition["stages"])
    if stage + 1 >= stage_count:
        execution.status = "succeeded"
        execution.finished_at = utcnow()
        return
    # Only the first finisher moves the stage on: a concurrent finisher sees the new stage.
    moved = db.session.execute(
        sa.update(Execution)
        .where(Execution.id == execution_id, Execution.current_stage == stage)
        .values(current_stage=stage + 1, status="running")
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        return
    now = utcnow()
    next_ids = list(
        db.session.scalars(
            sa.select(StepRun.id).where(
                StepRun.execution_id == execution_id,
                StepRun.stage_index == stage + 1,
                StepRun.status == "pending",
            )
        )
    )
    db.session.execute(
        sa.update(StepRun)
        .where(StepRun.id.in_(next_ids))
        .values(status="queued", queued_at=now)
        .execution_options(synchronize_session=False)
    )
    enqueue_after_commit(next_ids)


def fail_execution(execution_id: int, error: str, status: str = "failed") -> None:
    db.session.execute(
        sa.update(Execution)
        .where(Execution.id == execution_id, Execution.status.in_(("running", "waiting")))
        .values(status=status, error=error, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    _close_open_steps(execution_id, keep_failed=True)


def _close_open_steps(execution_id: int, *, keep_failed: bool = False) -> None:
    """Cancel what has not run, and withdraw pending approval requests (no commit)."""
    db.session.execute(
        sa.update(StepRun)
        .where(
            StepRun.execution_id == execution_id,
            StepRun.status.in_(("pending", "queued", "waiting", "running")),
        )
        .values(status="cancelled", finished_at=utcnow(), lease_until=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(ApprovalRequest)
        .where(ApprovalRequest.execution_id == execution_id, ApprovalRequest.status == "pending")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )


def complete_waiting_step(step_run_id: int, output: dict[str, Any]) -> bool:
    """A parked step (approval) is done: mark it succeeded and advance (no commit)."""
    changed = db.session.execute(
        sa.update(StepRun)
        .where(StepRun.id == step_run_id, StepRun.status == "waiting")
        .values(status="succeeded", finished_at=utcnow(), output=output)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        return False
    execution_id = db.session.scalar(
        sa.select(StepRun.execution_id).where(StepRun.id == step_run_id)
    )
    advance(execution_id)
    return True


def reject_at_step(step_run_id: int, output: dict[str, Any]) -> bool:
    """An approval step was rejected: the step fails and the execution ends as rejected."""
    changed = db.session.execute(
        sa.update(StepRun)
        .where(StepRun.id == step_run_id, StepRun.status == "waiting")
        .values(status="failed", finished_at=utcnow(), output=output, error="Rejected")
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        return False
    step_run = db.session.get(StepRun, step_run_id)
    fail_execution(step_run.execution_id, f"Rejected at step “{step_run.step_key}”.", "rejected")
    return True


# ---------------------------------------------------------------- operators


def get_execution(execution_id: int) -> Execution:
    return get_or_raise(Execution, execution_id, "No such execution.")


def cancel_execution(execution_id: int, *, actor_id: int | None, reason: str = "") -> None:
    execution = get_execution(execution_id)
    if execution.is_finished:
        raise DomainError(f"This execution has already ended ({execution.status}).")
    fail_execution(execution.id, reason or "Cancelled by an operator.", status="cancelled")
    record_event(
        actor_id=actor_id,
        action="execution.cancelled",
        object_type="execution",
        object_id=execution.id,
        summary=f"Cancelled execution {execution.id} of “{execution.workflow.name}”",
    )
    db.session.commit()


def retry_execution(execution_id: int, *, actor_id: int | None) -> list[int]:
    """Restart a failed execution from its failed step(s), with a fresh set of attempts."""
    execution = get_execution(execution_id)
    if execution.status != "failed":
        raise DomainError("Only a failed execution can be retried.")
    failed = [run for run in execution.step_runs if run.status == "failed"]
    now = utcnow()
    for run in failed:
        run.status = "queued"
        run.queued_at = now
        run.next_attempt_at = None
        run.finished_at = None
        run.max_attempts = (
            run.attempt + find_step(execution.version, run.step_key)["retry"]["attempts"]
        )
    # Steps of later stages that were cancelled by the failure go back to pending.
    for run in execution.step_runs:
        if run.status == "cancelled" and run.stage_index > execution.current_stage:
            run.status = "pending"
            run.finished_at = None
        elif run.status == "cancelled" and run.stage_index == execution.current_stage:
            run.status, run.queued_at, run.finished_at = "queued", now, None
            failed.append(run)
    execution.status = "running"
    execution.error = None
    execution.finished_at = None
    record_event(
        actor_id=actor_id,
        action="execution.retried",
        object_type="execution",
        object_id=execution.id,
        summary=f"Retried execution {execution.id} from step(s) "
        + ", ".join(run.step_key for run in failed),
    )
    ids = [run.id for run in failed]
    enqueue_after_commit(ids)
    db.session.commit()
    return ids
