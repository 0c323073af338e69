"""The execution model: start an execution, claim a step, record its outcome, advance stages.

The database is the truth. Huey only carries step-run ids, and only after the transaction
that made the step runnable has committed (see enqueue.py). Every state change of a step is
a conditional UPDATE, so a duplicate or late message, or a second reconciler, changes nothing.
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

from governance import events
from governance.approvals.models import ApprovalRequest
from governance.audit.service import record_event
from governance.engine import backoff, conditions
from governance.engine.actions import Outcome, StepContext, get_action
from governance.engine.events import ExecutionFinished
from governance.engine.handoff import send_steps_after_commit
from governance.engine.models import (
    FINISHED_EXECUTION_STATUSES,
    FINISHED_STEP_STATUSES,
    Execution,
    StepAttempt,
    StepRun,
    Workflow,
    WorkflowVersion,
)
from governance.engine.templating import TemplateError
from governance.errors import DomainError
from governance.extensions import db
from governance.lookup import get_or_raise
from governance.policies.models import Policy
from governance.timeutil import UTCDateTime, utcnow

log = logging.getLogger(__name__)
CONSUMER_NAME = f"{socket.gethostname()}"

# ---------------------------------------------------------------- the statements of every step

# Every step runs these, so they are built once, on the Core tables, with bound parameters:
# building a statement (and an ORM-enabled one above all) costs SQLAlchemy several times what
# running it on the database does.
_steps = StepRun.__table__
_attempts = StepAttempt.__table__
_executions = Execution.__table__
_now = sa.bindparam("now", type_=UTCDateTime())
_this_step = _steps.c.id == sa.bindparam("step_run_id")

_CLAIM = (
    sa.update(_steps)
    .where(
        _this_step,
        _steps.c.status == "queued",
        sa.or_(_steps.c.next_attempt_at.is_(None), _steps.c.next_attempt_at <= _now),
    )
    .values(
        status="running",
        attempt=_steps.c.attempt + 1,
        lease_until=sa.bindparam("lease_end", type_=UTCDateTime()),
        started_at=sa.func.coalesce(_steps.c.started_at, _now),
    )
    .returning(_steps.c.attempt)
)
# Executed with one value per column (step_run_id, number, started_at, consumer).
_OPEN_ATTEMPT = sa.insert(_attempts)
_STEP_RESULTS = (
    sa.select(_steps.c.step_key, _steps.c.status, _steps.c.output)
    .where(_steps.c.execution_id == sa.bindparam("execution"))
    .order_by(_steps.c.stage_index, _steps.c.position)
)
# Only while this consumer holds the step: still running, and at the attempt it claimed.
_FINISH_STEP = (
    sa.update(_steps)
    .where(
        _this_step,
        _steps.c.status == "running",
        _steps.c.attempt == sa.bindparam("held_attempt"),
    )
    .values(
        status=sa.bindparam("new_status"),
        finished_at=_now,
        lease_until=None,
        # None leaves the column as it is (the JSON type would store a JSON null otherwise).
        output=sa.func.coalesce(
            sa.bindparam("new_output", type_=sa.JSON(none_as_null=True)), _steps.c.output
        ),
        error=sa.func.coalesce(sa.bindparam("new_error", type_=sa.Text()), _steps.c.error),
    )
)
_this_execution = _executions.c.id == sa.bindparam("execution")
# FOR NO KEY UPDATE, not FOR UPDATE: a step's own inserts (approval requests, attempts) hold a
# KEY SHARE lock on its execution through their foreign key; FOR UPDATE would wait on the other
# step's KEY SHARE while that step waits on ours (a deadlock). NO KEY UPDATE still makes two
# lockers of one execution take turns.
_LOCK_EXECUTION = (
    sa.select(_executions.c.status, _executions.c.current_stage, _executions.c.version_id)
    .where(_this_execution)
    .with_for_update(key_share=True)
)
_COUNT_OPEN_STEPS = (
    sa.select(sa.func.count())
    .select_from(_steps)
    .where(
        _steps.c.execution_id == sa.bindparam("execution"),
        _steps.c.stage_index == sa.bindparam("stage"),
        _steps.c.status.not_in(FINISHED_STEP_STATUSES),
    )
)
_still_at_stage = sa.and_(
    _this_execution,
    _executions.c.current_stage == sa.bindparam("stage"),
    # Not in_(): an IN list is re-rendered into the SQL at every execution.
    sa.or_(_executions.c.status == "running", _executions.c.status == "waiting"),
)
_SUCCEED_EXECUTION = (
    sa.update(_executions)
    .where(_still_at_stage)
    .values(status="succeeded", finished_at=_now)
    .returning(_executions.c.trigger_type)
)
_MOVE_TO_NEXT_STAGE = (
    sa.update(_executions)
    .where(_still_at_stage)
    .values(current_stage=sa.bindparam("stage") + 1, status="running")
)
_QUEUE_STAGE = (
    sa.update(_steps)
    .where(
        _steps.c.execution_id == sa.bindparam("execution"),
        _steps.c.stage_index == sa.bindparam("stage") + 1,
        _steps.c.status == "pending",
    )
    .values(status="queued", queued_at=_now)
    .returning(_steps.c.id)
)
_CLOSE_ATTEMPT = (
    sa.update(_attempts)
    .where(
        _attempts.c.step_run_id == sa.bindparam("attempt_of"),
        _attempts.c.number == sa.bindparam("held_attempt"),
    )
    .values(
        finished_at=_now,
        outcome=sa.bindparam("new_outcome"),
        error=sa.bindparam("new_error", type_=sa.Text()),
        traceback=sa.bindparam("new_traceback", type_=sa.Text()),
    )
)


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
    send_steps_after_commit([run.id for run in first_stage])
    return execution


# ---------------------------------------------------------------- claiming


def claim_step(step_run_id: int, *, lease_seconds: float) -> StepRun | None:
    """Take a queued step for this consumer: one conditional UPDATE, then commit.

    Only one claimant can move a row from queued to running; a duplicate message, a late
    message or a second consumer finds nothing to claim and returns None.
    """
    now = utcnow()
    attempt = db.session.scalar(
        _CLAIM,
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
        _OPEN_ATTEMPT,
        {
            "step_run_id": step_run_id,
            "number": attempt,
            "started_at": now,
            "consumer": CONSUMER_NAME,
        },
    )
    db.session.commit()
    return db.session.scalars(_load_for_run(), {"step_run_id": step_run_id}).one()


@functools.cache
def _load_for_run() -> sa.Select:
    """The step, with what a run reads of its execution, workflow, version, policy and owner.

    Built on first use rather than at import: loader options configure every mapper, and
    at import some models may not be defined yet.
    """
    execution = so.joinedload(StepRun.execution)
    return (
        sa.select(StepRun)
        .where(StepRun.id == sa.bindparam("step_run_id"))
        .options(
            execution.joinedload(Execution.version),
            execution.joinedload(Execution.policy).defer(Policy.body),
        )
    )


# ---------------------------------------------------------------- running


def build_data(execution: Execution) -> dict[str, Any]:
    """What templates and conditions see: plain values, never ORM objects."""
    steps = {
        key: {"output": output or {}, "status": status}
        for key, status, output in db.session.execute(_STEP_RESULTS, {"execution": execution.id})
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
        _advance_past(step_run)
        db.session.commit()
        return "skipped"
    action = get_action(step_run.step_type)
    try:
        outcome = action.run(context)
    except TemplateError as error:
        # Refused by the sandbox or its render budget: every attempt would be, so no retry.
        db.session.rollback()
        return _record_failure(step_run_id, attempt, Outcome.failed(str(error)), None)
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
    _advance_past(step_run)
    db.session.commit()
    return "succeeded"


def _step_is_mine(step_run_id: int, attempt: int):
    return sa.and_(
        StepRun.id == step_run_id, StepRun.status == "running", StepRun.attempt == attempt
    )


def _close_attempt(step_run_id: int, attempt: int, outcome: str, error=None, trace=None) -> None:
    db.session.execute(
        _CLOSE_ATTEMPT,
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
    status: str,
    *,
    output: dict[str, Any] | None = None,
    error: str | None = None,
    trace: str | None = None,
) -> bool:
    """Mark a step this consumer holds as finished (no commit). False if it is no longer ours."""
    changed = db.session.execute(
        _FINISH_STEP,
        {
            "step_run_id": step_run_id,
            "held_attempt": attempt,
            "new_status": status,
            "now": utcnow(),
            "new_output": output,
            "new_error": error,
        },
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
        # The task wrapper asks Huey to send this step again when due (see tasks.run_step).
        return "retrying"
    if not _finish_step(step_run_id, attempt, "failed", error=outcome.error, trace=trace):
        db.session.rollback()
        return "lost-lease"
    fail_execution(step_run.execution_id, f"Step “{step_run.step_key}” failed: {outcome.error}")
    db.session.commit()
    return "failed"


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


# ---------------------------------------------------------------- advancing


def refresh_execution_status(execution_id: int) -> None:
    """running while some step is queued or running; waiting when all open steps are parked."""
    # Lock the execution row first: two steps of a stage parking at once (two approval steps
    # on two consumers) would each see the other still running and both write "running", for
    # good. Once the lock is ours, the next statement sees what the other one committed.
    db.session.execute(_LOCK_EXECUTION, {"execution": execution_id})
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
    # The count is a statement of its own so that, once the lock is ours, it sees what the
    # other finisher committed.
    locked = db.session.execute(_LOCK_EXECUTION, {"execution": execution_id}).one()
    if locked.status in FINISHED_EXECUTION_STATUSES:
        return
    open_steps = db.session.scalar(
        _COUNT_OPEN_STEPS, {"execution": execution_id, "stage": locked.current_stage}
    )
    if open_steps:
        refresh_execution_status(execution_id)
        return
    stage_count = len(db.session.get(WorkflowVersion, locked.version_id).definition["stages"])
    _start_next_stage(execution_id, locked.current_stage, stage_count)


def _advance_past(step_run: StepRun) -> None:
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
        trigger_type = db.session.scalar(_SUCCEED_EXECUTION, values | {"now": utcnow()})
        if trigger_type is not None:
            _finished(execution_id, "succeeded", trigger_type)
        return
    if db.session.execute(_MOVE_TO_NEXT_STAGE, values).rowcount != 1:
        return
    next_ids = db.session.scalars(_QUEUE_STAGE, values | {"now": utcnow()}).all()
    send_steps_after_commit(sorted(next_ids))


def fail_execution(execution_id: int, error: str, status: str = "failed") -> None:
    trigger_type = db.session.scalar(
        sa.update(Execution)
        .where(Execution.id == execution_id, Execution.status.in_(("running", "waiting")))
        .values(status=status, error=error, finished_at=utcnow())
        .returning(Execution.trigger_type)
        .execution_options(synchronize_session=False)
    )
    _close_open_steps(execution_id, keep_failed=True)
    if trigger_type is not None:
        _finished(execution_id, status, trigger_type)


def _finished(execution_id: int, status: str, trigger_type: str) -> None:
    """Tell subscribers (features waiting on an outcome) that this execution ended, in the
    transaction that ended it: only called when the conditional UPDATE matched its row."""
    events.publish(
        ExecutionFinished(execution_id=execution_id, status=status, trigger_type=trigger_type)
    )


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
    send_steps_after_commit(ids)
    db.session.commit()
    return ids


def give_up_step(step_run_id: int, *, reason: str) -> bool:
    """An operator stops trying a step that failed or waits for its retry (no commit).

    The step ends failed with the reason, and its execution fails with it. False when the step
    has meanwhile succeeded, runs again, or its execution ended otherwise: nothing to give up.
    """
    changed = db.session.execute(
        sa.update(StepRun)
        .where(StepRun.id == step_run_id, StepRun.status.in_(("queued", "failed")))
        .values(status="failed", error=reason, lease_until=None, finished_at=utcnow())
        .returning(StepRun.execution_id, StepRun.step_key)
    ).one_or_none()
    if changed is None:
        return False
    execution_id, step_key = changed
    still_open = db.session.scalar(
        sa.select(Execution.status).where(Execution.id == execution_id)
    ) in ("running", "waiting", "failed")
    if not still_open:
        return False
    fail_execution(execution_id, f"Step “{step_key}” failed: {reason}")
    return True
