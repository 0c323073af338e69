"""Moving an execution on: the next stage, its end (succeeded, failed, rejected, cancelled),
and a parked step that a person completed. Nothing here commits: it joins the transaction of
the step or decision that moved it.

Two steps of one stage may finish at once on two consumers, so the execution row is locked
(FOR NO KEY UPDATE, see statements.LOCK_EXECUTION) before anything counts what is left open,
and every move is conditional on the stage it starts from.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from governance import events
from governance.dbutil import rowcount
from governance.engine import statements
from governance.engine.events import ExecutionFinished, ExecutionStepsClosed
from governance.engine.handoff import send_steps_after_commit
from governance.engine.lifecycle import (
    FINISHED_EXECUTION_STATUSES,
    FINISHED_STEP_STATUSES,
    ExecutionStatus,
    StepRunStatus,
)
from governance.engine.models import Execution, StepRun, WorkflowVersion
from governance.extensions import db
from governance.timeutil import utcnow

_OPEN_EXECUTION = (ExecutionStatus.RUNNING, ExecutionStatus.WAITING)
_OPEN_STEP = (
    StepRunStatus.PENDING,
    StepRunStatus.QUEUED,
    StepRunStatus.WAITING,
    StepRunStatus.RUNNING,
)


def refresh_execution_status(execution_id: int) -> None:
    """running while some step is queued or running; waiting when all open steps are parked."""
    # Lock the execution row first: two steps of a stage parking at once (two approval steps
    # on two consumers) would each see the other still running and both write "running", for
    # good. Once the lock is ours, the next statement sees what the other one committed.
    db.session.execute(statements.LOCK_EXECUTION, {"execution": execution_id})
    statuses = set(
        db.session.scalars(
            sa.select(StepRun.status).where(
                StepRun.execution_id == execution_id,
                StepRun.status.not_in(FINISHED_STEP_STATUSES | {StepRunStatus.PENDING}),
            )
        )
    )
    parked = statuses and statuses <= {StepRunStatus.WAITING}
    db.session.execute(
        sa.update(Execution)
        .where(Execution.id == execution_id, Execution.status.in_(_OPEN_EXECUTION))
        .values(status=ExecutionStatus.WAITING if parked else ExecutionStatus.RUNNING)
        .execution_options(synchronize_session=False)
    )


def advance(execution_id: int) -> None:
    """When every step of the current stage has finished, start the next (or finish)."""
    # Lock the execution row: two steps of a stage finishing at once advance it one at a time.
    # The count is a statement of its own so that, once the lock is ours, it sees what the
    # other finisher committed.
    locked = db.session.execute(statements.LOCK_EXECUTION, {"execution": execution_id}).one()
    if locked.status in FINISHED_EXECUTION_STATUSES:
        return
    open_steps = db.session.scalar(
        statements.COUNT_OPEN_STEPS, {"execution": execution_id, "stage": locked.current_stage}
    )
    if open_steps:
        refresh_execution_status(execution_id)
        return
    version = db.session.get_one(WorkflowVersion, locked.version_id)
    _start_next_stage(execution_id, locked.current_stage, len(version.definition["stages"]))


def advance_past(step_run: StepRun) -> None:
    """advance() after this consumer finished `step_run`, in the same transaction.

    A step alone in its stage has just closed that stage: no other finisher can race for it,
    so the lock and the count of open steps are left out and the stage moves on at once.
    """
    stages = step_run.execution.version.definition["stages"]
    if len(stages[step_run.stage_index]["steps"]) > 1:
        advance(step_run.execution_id)
        return
    _start_next_stage(step_run.execution_id, step_run.stage_index, len(stages))


def _start_next_stage(execution_id: int, stage: int, stage_count: int) -> None:
    """Move an open execution whose `stage` has finished on to the next stage, or end it.

    Conditional on the stage and on the execution being open, so of two finishers only the
    first moves it on, and an execution cancelled meanwhile stays cancelled.
    """
    values = {"execution": execution_id, "stage": stage}
    if stage + 1 >= stage_count:
        trigger_type = db.session.scalar(statements.SUCCEED_EXECUTION, values | {"now": utcnow()})
        if trigger_type is not None:
            _finished(execution_id, ExecutionStatus.SUCCEEDED, trigger_type)
        return
    if rowcount(db.session.execute(statements.MOVE_TO_NEXT_STAGE, values)) != 1:
        return
    next_ids = db.session.scalars(statements.QUEUE_STAGE, values | {"now": utcnow()}).all()
    send_steps_after_commit(sorted(next_ids))


def fail_execution(
    execution_id: int, error: str, status: ExecutionStatus = ExecutionStatus.FAILED
) -> None:
    """End an open execution as failed (or rejected, or cancelled) and close its open steps."""
    trigger_type = db.session.scalar(
        sa.update(Execution)
        .where(Execution.id == execution_id, Execution.status.in_(_OPEN_EXECUTION))
        .values(status=status, error=error, finished_at=utcnow())
        .returning(Execution.trigger_type)
        .execution_options(synchronize_session=False)
    )
    _close_open_steps(execution_id)
    if trigger_type is not None:
        _finished(execution_id, status, trigger_type)


def _finished(execution_id: int, status: str, trigger_type: str) -> None:
    """Tell subscribers (features waiting on an outcome) that this execution ended, in the
    transaction that ended it: only called when the conditional UPDATE matched its row."""
    events.publish(
        ExecutionFinished(execution_id=execution_id, status=status, trigger_type=trigger_type)
    )


def _close_open_steps(execution_id: int) -> None:
    """Cancel what has not run (no commit); features withdraw what waited on those steps
    (approvals: their pending requests), in this transaction."""
    db.session.execute(
        sa.update(StepRun)
        .where(StepRun.execution_id == execution_id, StepRun.status.in_(_OPEN_STEP))
        .values(status=StepRunStatus.CANCELLED, finished_at=utcnow(), lease_until=None)
        .execution_options(synchronize_session=False)
    )
    events.publish(ExecutionStepsClosed(execution_id=execution_id))


def complete_waiting_step(step_run_id: int, output: dict[str, Any]) -> bool:
    """A parked step (approval, task) is done: mark it succeeded and advance (no commit)."""
    changed = db.session.execute(
        sa.update(StepRun)
        .where(StepRun.id == step_run_id, StepRun.status == StepRunStatus.WAITING)
        .values(status=StepRunStatus.SUCCEEDED, finished_at=utcnow(), output=output)
        .execution_options(synchronize_session=False)
    )
    if rowcount(changed) != 1:
        return False
    execution_id = db.session.execute(
        sa.select(StepRun.execution_id).where(StepRun.id == step_run_id)
    ).scalar_one()
    advance(execution_id)
    return True


def reject_at_step(step_run_id: int, output: dict[str, Any]) -> bool:
    """An approval step was rejected: the step fails and the execution ends as rejected."""
    changed = db.session.execute(
        sa.update(StepRun)
        .where(StepRun.id == step_run_id, StepRun.status == StepRunStatus.WAITING)
        .values(status=StepRunStatus.FAILED, finished_at=utcnow(), output=output, error="Rejected")
        .execution_options(synchronize_session=False)
    )
    if rowcount(changed) != 1:
        return False
    step_run = db.session.get_one(StepRun, step_run_id)
    fail_execution(
        step_run.execution_id,
        f"Rejected at step “{step_run.step_key}”.",
        ExecutionStatus.REJECTED,
    )
    return True
