"""What an operator does to an execution: cancel it, retry it, give up a step. Audited.

Nothing here commits: each is part of the caller's command (`with unit_of_work():`), so the
change, its audit event and the steps it hands to Huey after commit land together or not at all.
"""

from __future__ import annotations

import sqlalchemy as sa

from governance.audit.service import record_event
from governance.engine.advance import fail_execution
from governance.engine.handoff import send_steps_after_commit
from governance.engine.lifecycle import ExecutionStatus, StepRunStatus
from governance.engine.models import Execution, StepRun
from governance.errors import DomainError
from governance.extensions import db
from governance.lookup import get_or_raise
from governance.timeutil import utcnow


def get_execution(execution_id: int) -> Execution:
    return get_or_raise(Execution, execution_id, "No such execution.")


def cancel_execution(execution_id: int, *, actor_id: int | None, reason: str = "") -> None:
    """End an open execution as cancelled; its pending approval requests are withdrawn."""
    execution = get_execution(execution_id)
    if execution.is_finished:
        raise DomainError(f"This execution has already ended ({execution.status}).")
    reason = reason or "Cancelled by an operator."
    fail_execution(execution.id, reason, status=ExecutionStatus.CANCELLED)
    record_event(
        actor_id=actor_id,
        action="execution.cancelled",
        object_type="execution",
        object_id=execution.id,
        summary=f"Cancelled execution {execution.id} of “{execution.workflow.name}”",
    )


def retry_execution(execution_id: int, *, actor_id: int | None) -> list[int]:
    """Restart a failed execution from its failed step(s), with a fresh set of attempts.

    Returns the ids of the steps queued again; they reach Huey after the caller's commit.
    """
    execution = get_execution(execution_id)
    if execution.status != ExecutionStatus.FAILED:
        raise DomainError("Only a failed execution can be retried.")
    failed = [run for run in execution.step_runs if run.status == StepRunStatus.FAILED]
    now = utcnow()
    for run in failed:
        run.status = StepRunStatus.QUEUED
        run.queued_at = now
        run.next_attempt_at = None
        run.finished_at = None
        run.max_attempts = (
            run.attempt + execution.version.find_step(run.step_key)["retry"]["attempts"]
        )
    # Steps of later stages that were cancelled by the failure go back to pending.
    for run in execution.step_runs:
        cancelled = run.status == StepRunStatus.CANCELLED
        if cancelled and run.stage_index > execution.current_stage:
            run.status = StepRunStatus.PENDING
            run.finished_at = None
        elif cancelled and run.stage_index == execution.current_stage:
            run.status, run.queued_at, run.finished_at = StepRunStatus.QUEUED, now, None
            failed.append(run)
    execution.status = ExecutionStatus.RUNNING
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
    send_steps_after_commit(ids)
    return ids


def give_up_step(step_run_id: int, *, reason: str) -> bool:
    """An operator stops trying a step that failed or waits for its retry.

    The step ends failed with the reason, and its execution fails with it. False when the step
    has meanwhile succeeded, runs again, or its execution ended otherwise: nothing to give up.
    """
    changed = db.session.execute(
        sa.update(StepRun)
        .where(
            StepRun.id == step_run_id,
            StepRun.status.in_((StepRunStatus.QUEUED, StepRunStatus.FAILED)),
        )
        .values(status=StepRunStatus.FAILED, error=reason, lease_until=None, finished_at=utcnow())
        .returning(StepRun.execution_id, StepRun.step_key)
    ).one_or_none()
    if changed is None:
        return False
    execution_id, step_key = changed
    still_open = db.session.scalar(
        sa.select(Execution.status).where(Execution.id == execution_id)
    ) in (ExecutionStatus.RUNNING, ExecutionStatus.WAITING, ExecutionStatus.FAILED)
    if not still_open:
        return False
    fail_execution(execution_id, f"Step “{step_key}” failed: {reason}")
    return True
