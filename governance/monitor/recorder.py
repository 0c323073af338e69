"""Huey's signals, recorded: one job record per task and counters per task name and minute.

Signals fire in whichever process moves the task (the web process enqueues, a consumer runs),
outside any business transaction, so each is written in its own short transaction on its own
connection. Recording must never break the work it describes: a failure is logged and dropped.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback as tb
from datetime import datetime

import sqlalchemy as sa
from flask import has_app_context
from huey import signals as S

from governance.dbutil import insert_on_conflict
from governance.extensions import db, huey
from governance.monitor import heartbeat
from governance.monitor.models import (
    DURATION_BUCKET_COLUMNS,
    DURATION_BUCKETS_MS,
    Consumer,
    JobCounter,
    JobRecord,
)
from governance.queue import JobFailed, consumer_app
from governance.timeutil import utcnow

log = logging.getLogger(__name__)
JOBS = JobRecord.__table__
COUNTERS = JobCounter.__table__
# The task names whose first argument is a step run's id.
STEP_TASKS = {"steward.run_step"}

# When each task this process is running started (monotonic), to time it without the database.
_started: dict[str, float] = {}
_started_lock = threading.Lock()


def duration_bucket(duration_ms: float) -> str:
    """The counter column that counts a run of this length."""
    for bound, column in zip(DURATION_BUCKETS_MS, DURATION_BUCKET_COLUMNS, strict=False):
        if duration_ms <= bound:
            return column
    return DURATION_BUCKET_COLUMNS[-1]


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def short_error(exc: BaseException | None) -> str | None:
    if exc is None:
        return None
    if isinstance(exc, JobFailed):  # already the underlying error's own words
        return str(exc)[:1000]
    return f"{type(exc).__name__}: {exc}"[:1000]


def traceback_text(exc: BaseException | None) -> str | None:
    """The failure's story; a StepFailed carries the step action's own traceback."""
    if exc is None:
        return None
    own = getattr(exc, "traceback_text", None)
    return own or "".join(tb.format_exception(exc))


def _task_name(task) -> str:
    return getattr(task, "name", None) or type(task).__name__


def _args(task) -> list:
    return [
        arg if isinstance(arg, int | float | str | bool | None) else repr(arg) for arg in task.args
    ]


def _step_run_id(task) -> int | None:
    if _task_name(task) in STEP_TASKS and task.args and isinstance(task.args[0], int):
        return task.args[0]
    return None


def _upsert_job(connection: sa.Connection, task, now: datetime, **values) -> None:
    first_sight = {
        "task_id": task.id,
        "task_name": _task_name(task),
        "args": _args(task),
        "step_run_id": _step_run_id(task),
        "created_at": now,
        "attempts": 0,
    }
    insert = insert_on_conflict(JOBS, connection.dialect.name).values(first_sight | values)
    updates = {key: insert.excluded[key] for key in values}
    if "attempts" in values:  # an attempt more, not a reset
        updates["attempts"] = JOBS.c.attempts + 1
    connection.execute(insert.on_conflict_do_update(index_elements=[JOBS.c.task_id], set_=updates))


def _count(connection: sa.Connection, task, now: datetime, **increments) -> None:
    insert = insert_on_conflict(COUNTERS, connection.dialect.name).values(
        minute=minute_of(now), task_name=_task_name(task), **increments
    )
    connection.execute(
        insert.on_conflict_do_update(
            index_elements=[COUNTERS.c.minute, COUNTERS.c.task_name],
            set_={key: COUNTERS.c[key] + insert.excluded[key] for key in increments},
        )
    )


def _finish(connection, task, now, *, status, counter, exc=None) -> None:
    """An attempt ended: its record, counter and duration bucket, and the consumer's tally."""
    with _started_lock:
        started = _started.pop(task.id, None)
    duration_ms = (time.monotonic() - started) * 1000 if started is not None else None
    values = {"status": status, "finished_at": now, "duration_ms": duration_ms}
    if exc is not None:
        values |= {"error": short_error(exc), "traceback": traceback_text(exc)}
    elif status == "complete":
        values |= {"error": None, "traceback": None}
    _upsert_job(connection, task, now, **values)
    increments = {counter: 1}
    if duration_ms is not None:
        increments |= {"total_duration_ms": duration_ms, duration_bucket(duration_ms): 1}
    _count(connection, task, now, **increments)
    consumer_id = heartbeat.current_consumer_id()
    if consumer_id:
        connection.execute(
            sa.update(Consumer.__table__)
            .where(Consumer.__table__.c.id == consumer_id)
            .values(tasks_done=Consumer.__table__.c.tasks_done + 1)
        )


def _record(connection: sa.Connection, signal: str, task, exc: BaseException | None) -> None:
    now = utcnow()
    if signal == S.SIGNAL_ENQUEUED:
        waits = task.eta is not None and task.eta.replace(tzinfo=now.tzinfo) > now
        _upsert_job(
            connection,
            task,
            now,
            status="scheduled" if waits else "enqueued",
            enqueued_at=now,
            eta=task.eta.replace(tzinfo=now.tzinfo) if task.eta else None,
        )
    elif signal == S.SIGNAL_SCHEDULED:
        eta = task.eta.replace(tzinfo=now.tzinfo) if task.eta else None
        _upsert_job(connection, task, now, status="scheduled", eta=eta)
    elif signal == S.SIGNAL_EXECUTING:
        with _started_lock:
            _started[task.id] = time.monotonic()
        _upsert_job(
            connection,
            task,
            now,
            status="running",
            started_at=now,
            finished_at=None,
            consumer_id=heartbeat.current_consumer_id(),
            attempts=1,
        )
        _count(connection, task, now, started=1)
    elif signal == S.SIGNAL_COMPLETE:
        _finish(connection, task, now, status="complete", counter="succeeded")
    elif signal in (S.SIGNAL_ERROR, S.SIGNAL_TIMEOUT, S.SIGNAL_LOCKED):
        if task.retries:  # Huey sends it again: SIGNAL_RETRYING follows and counts it
            _upsert_job(
                connection, task, now, error=short_error(exc), traceback=traceback_text(exc)
            )
            return
        exc = exc or RuntimeError(f"Huey reported “{signal}”")
        _finish(connection, task, now, status="error", counter="failed", exc=exc)
    elif signal == S.SIGNAL_RETRYING:
        _finish(connection, task, now, status="retrying", counter="retried")
    elif signal in (S.SIGNAL_REVOKED, S.SIGNAL_EXPIRED, S.SIGNAL_CANCELED, S.SIGNAL_INTERRUPTED):
        status = {
            S.SIGNAL_REVOKED: "revoked",
            S.SIGNAL_EXPIRED: "expired",
            S.SIGNAL_CANCELED: "canceled",
            S.SIGNAL_INTERRUPTED: "interrupted",
        }[signal]
        with _started_lock:
            _started.pop(task.id, None)
        _upsert_job(connection, task, now, status=status, finished_at=now)


def _write(signal: str, task, exc: BaseException | None) -> None:
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Monitoring rows may lose their last milliseconds in a database crash; the work
            # they describe may not. Not waiting for the disk keeps recording off the step's
            # critical path (the business transactions keep full durability).
            connection.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
        _record(connection, signal, task, exc)


@huey.signal()
def record_signal(signal: str, task, exc: BaseException | None = None, *args) -> None:
    """Every signal of every task, in this process (Huey calls this; it must never raise)."""
    try:
        if has_app_context():
            _write(signal, task, exc)
        else:  # a consumer's worker, between tasks
            with consumer_app().app_context():
                _write(signal, task, exc)
    except Exception:
        log.warning("Could not record Huey signal %s for task %s", signal, task.id, exc_info=True)
