"""Huey's signals, recorded: one job record per task and counters per task name and minute.

Signals fire in whichever process moves the task (the web process enqueues, a consumer runs),
outside any business transaction, so records are written in their own short transactions: at
once in the web process, merged in batches by a write-behind thread in a consumer. Recording
must never break the work it describes: a failure is logged and dropped.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback as tb
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import Flask, has_app_context
from huey import signals as S

from governance.dbutil import insert_on_conflict
from governance.extensions import db, huey
from governance.queue import JobFailed, consumer_app
from governance.queues import heartbeat
from governance.queues.models import (
    DURATION_BUCKET_COLUMNS,
    DURATION_BUCKETS_MS,
    Consumer,
    JobCounter,
    JobRecord,
    JobStatus,
)
from governance.timeutil import utcnow

log = logging.getLogger(__name__)
JOBS = JobRecord.__table__
COUNTERS = JobCounter.__table__
CONSUMERS = Consumer.__table__
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


def _first_sight(task, now: datetime) -> dict:
    """A job record's columns when its first signal arrives."""
    return {
        "task_id": task.id,
        "task_name": _task_name(task),
        "args": _args(task),
        "step_run_id": _step_run_id(task),
        "created_at": now,
    }


@dataclass
class JobChange:
    first_sight: dict
    values: dict = field(default_factory=dict)
    attempts: int = 0  # attempts begun since the last write, added to the stored count


@dataclass
class Batch:
    """Signals' effects merged in order: one change per job, one sum per counter row, and the
    consumer's tally. Written in one transaction, sorted, so concurrent writers lock rows in
    the same order."""

    jobs: dict[str, JobChange] = field(default_factory=dict)
    counters: dict[tuple[datetime, str], dict[str, float]] = field(default_factory=dict)
    tasks_done: int = 0

    def __bool__(self) -> bool:
        return bool(self.jobs or self.counters or self.tasks_done)

    def job(self, task, now: datetime, *, attempts: int = 0, **values) -> None:
        change = self.jobs.get(task.id)
        if change is None:
            change = self.jobs[task.id] = JobChange(_first_sight(task, now))
        change.values.update(values)
        change.attempts += attempts

    def count(self, task, now: datetime, **increments: float) -> None:
        counter = self.counters.setdefault((minute_of(now), _task_name(task)), {})
        for column, increment in increments.items():
            counter[column] = counter.get(column, 0) + increment

    def write(self, connection: sa.Connection) -> None:
        dialect = connection.dialect.name
        for columns, rows in _grouped(
            self.jobs[task_id].first_sight
            | self.jobs[task_id].values
            | {"attempts": self.jobs[task_id].attempts}
            for task_id in sorted(self.jobs)
        ):
            insert = insert_on_conflict(JOBS, dialect)
            updates = {key: insert.excluded[key] for key in columns if key not in FIRST_SIGHT}
            updates["attempts"] = JOBS.c.attempts + insert.excluded.attempts
            connection.execute(
                insert.on_conflict_do_update(index_elements=[JOBS.c.task_id], set_=updates),
                rows,
            )
        for columns, rows in _grouped(
            {"minute": minute, "task_name": name} | self.counters[minute, name]
            for minute, name in sorted(self.counters)
        ):
            insert = insert_on_conflict(COUNTERS, dialect)
            increments = [key for key in columns if key not in ("minute", "task_name")]
            connection.execute(
                insert.on_conflict_do_update(
                    index_elements=[COUNTERS.c.minute, COUNTERS.c.task_name],
                    set_={key: COUNTERS.c[key] + insert.excluded[key] for key in increments},
                ),
                rows,
            )
        consumer_id = heartbeat.current_consumer_id()
        if self.tasks_done and consumer_id:
            connection.execute(
                sa.update(CONSUMERS)
                .where(CONSUMERS.c.id == consumer_id)
                .values(tasks_done=CONSUMERS.c.tasks_done + self.tasks_done)
            )


FIRST_SIGHT = frozenset(("task_id", "task_name", "args", "step_run_id", "created_at"))


def _grouped(rows) -> list[tuple[tuple[str, ...], list[dict]]]:
    """Rows with the same columns go in one executemany, in their given order."""
    groups: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return list(groups.items())


def _finish(batch: Batch, task, now, *, status: JobStatus, counter, exc=None) -> None:
    """An attempt ended: its record, counter and duration bucket, and the consumer's tally."""
    with _started_lock:
        started = _started.pop(task.id, None)
    duration_ms = (time.monotonic() - started) * 1000 if started is not None else None
    values = {"status": status, "finished_at": now, "duration_ms": duration_ms}
    if exc is not None:
        values |= {"error": short_error(exc), "traceback": traceback_text(exc)}
    elif status == JobStatus.COMPLETE:
        values |= {"error": None, "traceback": None}
    batch.job(task, now, **values)
    increments: dict[str, float] = {counter: 1}
    if duration_ms is not None:
        increments |= {"total_duration_ms": duration_ms, duration_bucket(duration_ms): 1}
    batch.count(task, now, **increments)
    batch.tasks_done += 1


def _record(batch: Batch, signal: str, task, exc: BaseException | None) -> None:
    now = utcnow()
    eta = task.eta.replace(tzinfo=now.tzinfo) if task.eta else None
    if signal == S.SIGNAL_ENQUEUED:
        waits = eta is not None and eta > now
        batch.job(
            task,
            now,
            status=JobStatus.SCHEDULED if waits else JobStatus.ENQUEUED,
            enqueued_at=now,
            eta=eta,
        )
    elif signal == S.SIGNAL_SCHEDULED:
        batch.job(task, now, status=JobStatus.SCHEDULED, eta=eta)
    elif signal == S.SIGNAL_EXECUTING:
        with _started_lock:
            _started[task.id] = time.monotonic()
        batch.job(
            task,
            now,
            status=JobStatus.RUNNING,
            started_at=now,
            finished_at=None,
            consumer_id=heartbeat.current_consumer_id(),
            attempts=1,
        )
        batch.count(task, now, started=1)
    elif signal == S.SIGNAL_COMPLETE:
        _finish(batch, task, now, status=JobStatus.COMPLETE, counter="succeeded")
    elif signal in (S.SIGNAL_ERROR, S.SIGNAL_TIMEOUT, S.SIGNAL_LOCKED):
        if task.retries:  # Huey sends it again: SIGNAL_RETRYING follows and counts it
            batch.job(task, now, error=short_error(exc), traceback=traceback_text(exc))
            return
        exc = exc or RuntimeError(f"Huey reported “{signal}”")
        _finish(batch, task, now, status=JobStatus.ERROR, counter="failed", exc=exc)
    elif signal == S.SIGNAL_RETRYING:
        _finish(batch, task, now, status=JobStatus.RETRYING, counter="retried")
    elif signal in (S.SIGNAL_REVOKED, S.SIGNAL_EXPIRED, S.SIGNAL_CANCELED, S.SIGNAL_INTERRUPTED):
        status = {
            S.SIGNAL_REVOKED: JobStatus.REVOKED,
            S.SIGNAL_EXPIRED: JobStatus.EXPIRED,
            S.SIGNAL_CANCELED: JobStatus.CANCELED,
            S.SIGNAL_INTERRUPTED: JobStatus.INTERRUPTED,
        }[signal]
        with _started_lock:
            _started.pop(task.id, None)
        batch.job(task, now, status=status, finished_at=now)


DEADLOCK_RETRIES = 3


def _write(batch: Batch) -> None:
    """One transaction; again if PostgreSQL chose it as a deadlock's victim.

    Rows are sorted, but a batch is written as one statement per set of columns, so two
    consumers' batches that share jobs can still lock them in different orders. PostgreSQL
    then rolls one back whole, and writing it again is safe.
    """
    for attempt in range(1, DEADLOCK_RETRIES + 1):
        try:
            with db.engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    # Monitoring rows may lose their last milliseconds in a database crash;
                    # the work they describe may not. Not waiting for the disk keeps recording
                    # off the step's critical path (business transactions keep durability).
                    connection.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
                batch.write(connection)
            return
        except sa.exc.DBAPIError as error:
            if attempt == DEADLOCK_RETRIES or not _is_deadlock(error):
                raise


def _is_deadlock(error: sa.exc.DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) == "40P01"


class WriteBehind:
    """A consumer's signals, merged in memory and written by one thread every FLUSH_SECONDS.

    A step fires three signals; written one transaction each they cost the consumer more than
    the step itself. Merged, a busy consumer writes a few rows per flush instead. The price: a
    consumer killed with SIGKILL loses its last FLUSH_SECONDS of records (never the work, which
    commits on its own), and a batch the database refuses is dropped with a warning, as a
    single record always was.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.pid = os.getpid()
        self._batch = Batch()
        self._adding = threading.Lock()
        self._writing = threading.Lock()  # flushes land in the order their batches were taken
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="steward-job-records", daemon=True)
        self._thread.start()

    def add(self, signal: str, task, exc: BaseException | None) -> None:
        with self._adding:
            _record(self._batch, signal, task, exc)

    def flush(self) -> None:
        with self._writing:
            with self._adding:
                batch, self._batch = self._batch, Batch()
            if batch:
                with self.app.app_context():
                    _write(batch)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
        self.flush()

    def _loop(self) -> None:
        while not self._stopped.wait(FLUSH_SECONDS):
            try:
                self.flush()
            except Exception:
                log.warning("Could not write a batch of job records; dropped", exc_info=True)


FLUSH_SECONDS = 0.2
# Set in a consumer by start_write_behind(); a forked process worker builds its own on first
# use (threads do not survive a fork, and the parent writes what it had gathered itself).
_write_behind: WriteBehind | None = None


def start_write_behind(app: Flask) -> None:
    """From now on this process (a consumer) and its forked workers record in batches."""
    global _write_behind
    _write_behind = WriteBehind(app)


def stop_write_behind() -> None:
    """Back to writing at once, after what was gathered is written (the consumer exits)."""
    global _write_behind
    write_behind, _write_behind = _write_behind_here(), None
    if write_behind is not None:
        write_behind.stop()


def _write_behind_here() -> WriteBehind | None:
    global _write_behind
    if _write_behind is not None and _write_behind.pid != os.getpid():
        _write_behind = WriteBehind(consumer_app())
    return _write_behind


@huey.on_shutdown("steward-job-records")
def flush_pending() -> None:
    """What this process gathered, written now: a worker stopping, or the consumer exiting."""
    write_behind = _write_behind_here()
    if write_behind is not None:
        try:
            write_behind.flush()
        except Exception:
            log.warning("Could not write the last job records", exc_info=True)


@huey.signal()
def record_signal(signal: str, task, exc: BaseException | None = None, *args) -> None:
    """Every signal of every task, in this process (Huey calls this; it must never raise)."""
    try:
        write_behind = _write_behind_here()
        if write_behind is not None:
            write_behind.add(signal, task, exc)
            return
        batch = Batch()
        _record(batch, signal, task, exc)
        if has_app_context():
            _write(batch)
        else:  # a consumer's worker, between tasks
            with consumer_app().app_context():
                _write(batch)
    except Exception:
        log.warning("Could not record Huey signal %s for task %s", signal, task.id, exc_info=True)
