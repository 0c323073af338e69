"""The statements every step runs, built once: the engine's hot path.

Built on the Core tables, with bound parameters: building a statement (and an ORM-enabled one
above all) costs SQLAlchemy several times what running it on the database does. Each state
change is one conditional UPDATE, so its row count tells the caller whether it won the race.
"""

from __future__ import annotations

import sqlalchemy as sa

from governance.engine.lifecycle import FINISHED_STEP_STATUSES, ExecutionStatus, StepRunStatus
from governance.engine.models import Execution, StepAttempt, StepRun
from governance.timeutil import UTCDateTime

_steps = StepRun.__table__
_attempts = StepAttempt.__table__
_executions = Execution.__table__
_now = sa.bindparam("now", type_=UTCDateTime())
_this_step = _steps.c.id == sa.bindparam("step_run_id")

CLAIM = (
    sa.update(_steps)
    .where(
        _this_step,
        _steps.c.status == StepRunStatus.QUEUED,
        sa.or_(_steps.c.next_attempt_at.is_(None), _steps.c.next_attempt_at <= _now),
    )
    .values(
        status=StepRunStatus.RUNNING,
        attempt=_steps.c.attempt + 1,
        lease_until=sa.bindparam("lease_end", type_=UTCDateTime()),
        started_at=sa.func.coalesce(_steps.c.started_at, _now),
    )
    .returning(_steps.c.attempt)
)
# Executed with one value per column (step_run_id, number, started_at, consumer).
OPEN_ATTEMPT = sa.insert(_attempts)
STEP_RESULTS = (
    sa.select(_steps.c.step_key, _steps.c.status, _steps.c.output)
    .where(_steps.c.execution_id == sa.bindparam("execution"))
    .order_by(_steps.c.stage_index, _steps.c.position)
)
# Only while this consumer holds the step: still running, and at the attempt it claimed.
FINISH_STEP = (
    sa.update(_steps)
    .where(
        _this_step,
        _steps.c.status == StepRunStatus.RUNNING,
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
LOCK_EXECUTION = (
    sa.select(_executions.c.status, _executions.c.current_stage, _executions.c.version_id)
    .where(_this_execution)
    .with_for_update(key_share=True)
)
COUNT_OPEN_STEPS = (
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
    sa.or_(
        _executions.c.status == ExecutionStatus.RUNNING,
        _executions.c.status == ExecutionStatus.WAITING,
    ),
)
SUCCEED_EXECUTION = (
    sa.update(_executions)
    .where(_still_at_stage)
    .values(status=ExecutionStatus.SUCCEEDED, finished_at=_now)
    .returning(_executions.c.trigger_type)
)
MOVE_TO_NEXT_STAGE = (
    sa.update(_executions)
    .where(_still_at_stage)
    .values(current_stage=sa.bindparam("stage") + 1, status=ExecutionStatus.RUNNING)
)
QUEUE_STAGE = (
    sa.update(_steps)
    .where(
        _steps.c.execution_id == sa.bindparam("execution"),
        _steps.c.stage_index == sa.bindparam("stage") + 1,
        _steps.c.status == StepRunStatus.PENDING,
    )
    .values(status=StepRunStatus.QUEUED, queued_at=_now)
    .returning(_steps.c.id)
)
CLOSE_ATTEMPT = (
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
