"""What the queue health page reads: one record per Huey task, counters per task and minute,
consumer heartbeats, and the state of each operational alert.

These are monitoring data, written beside the business transactions (from Huey's signals) and
pruned on their own schedule, so they hold ids of step runs and users but no foreign keys: a
job record must never block, or be blocked by, the rows it describes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.extensions import Model
from governance.timeutil import UTCDateTime, utcnow


class JobStatus(StrEnum):
    ENQUEUED = "enqueued"  # waiting in the queue
    SCHEDULED = "scheduled"  # waiting for its time (a delay or a retry's back-off)
    RUNNING = "running"
    COMPLETE = "complete"
    RETRYING = "retrying"  # failed an attempt; Huey sends it again
    ERROR = "error"  # failed for good: a failed job an operator retries or discards
    REVOKED = "revoked"
    EXPIRED = "expired"
    CANCELED = "canceled"
    INTERRUPTED = "interrupted"  # its consumer shut down while it ran
    LOST = "lost"  # its consumer vanished while it ran (killed, host gone)
    RETRIED = "retried"  # an operator retried it: the engine re-sent the work
    DISCARDED = "discarded"  # an operator gave it up, with a reason


# The CHECK constraint's and the API's value list: the enum's plain strings.
JOB_STATUSES = tuple(status.value for status in JobStatus)
FAILED_JOB_STATUS = JobStatus.ERROR

# Upper bounds (milliseconds) of the duration buckets kept per task and minute: enough to
# estimate p50/p95 from sums over any window without reading a single job record.
DURATION_BUCKETS_MS = (10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000)


class JobRecord(Model):
    __tablename__ = "job_records"
    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(JOB_STATUSES), name="known_status"),
        sa.Index("ix_job_records_status_finished", "status", "finished_at"),
        sa.Index("ix_job_records_task_name_status", "task_name", "status"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    task_id: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    task_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    args: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    step_run_id: so.Mapped[int | None] = so.mapped_column(index=True)
    status: so.Mapped[str] = so.mapped_column(sa.String(12))
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow, index=True)
    enqueued_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    eta: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    started_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    finished_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    duration_ms: so.Mapped[float | None]
    consumer_id: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    error: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    traceback: so.Mapped[str | None] = so.mapped_column(sa.Text)
    resolved_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    resolved_by_id: so.Mapped[int | None]
    resolution: so.Mapped[str | None] = so.mapped_column(sa.String(500))

    @property
    def is_failed(self) -> bool:
        return self.status == FAILED_JOB_STATUS


class JobCounter(Model):
    """Per task name and minute: what started, ended and how long it took."""

    __tablename__ = "job_counters"

    minute: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), primary_key=True)
    task_name: so.Mapped[str] = so.mapped_column(sa.String(120), primary_key=True)
    started: so.Mapped[int] = so.mapped_column(default=0)
    succeeded: so.Mapped[int] = so.mapped_column(default=0)
    failed: so.Mapped[int] = so.mapped_column(default=0)
    retried: so.Mapped[int] = so.mapped_column(default=0)
    total_duration_ms: so.Mapped[float] = so.mapped_column(default=0.0)
    # How many finished runs took at most 10 ms, 25 ms, ... (see DURATION_BUCKETS_MS), and
    # longer than a minute. Written out rather than generated: the schema reads plainly.
    under_10ms: so.Mapped[int] = so.mapped_column(default=0)
    under_25ms: so.Mapped[int] = so.mapped_column(default=0)
    under_50ms: so.Mapped[int] = so.mapped_column(default=0)
    under_100ms: so.Mapped[int] = so.mapped_column(default=0)
    under_250ms: so.Mapped[int] = so.mapped_column(default=0)
    under_500ms: so.Mapped[int] = so.mapped_column(default=0)
    under_1s: so.Mapped[int] = so.mapped_column(default=0)
    under_2500ms: so.Mapped[int] = so.mapped_column(default=0)
    under_5s: so.Mapped[int] = so.mapped_column(default=0)
    under_10s: so.Mapped[int] = so.mapped_column(default=0)
    under_30s: so.Mapped[int] = so.mapped_column(default=0)
    under_60s: so.Mapped[int] = so.mapped_column(default=0)
    over_60s: so.Mapped[int] = so.mapped_column(default=0)


# The bucket columns in bound order, the last one open-ended.
DURATION_BUCKET_COLUMNS = (
    "under_10ms",
    "under_25ms",
    "under_50ms",
    "under_100ms",
    "under_250ms",
    "under_500ms",
    "under_1s",
    "under_2500ms",
    "under_5s",
    "under_10s",
    "under_30s",
    "under_60s",
    "over_60s",
)


class Consumer(Model):
    """A running consumer process, as its last heartbeat described it."""

    __tablename__ = "consumers"

    id: so.Mapped[str] = so.mapped_column(sa.String(40), primary_key=True)
    host: so.Mapped[str] = so.mapped_column(sa.String(255))
    pid: so.Mapped[int]
    worker_count: so.Mapped[int]
    worker_type: so.Mapped[str] = so.mapped_column(sa.String(10))
    version: so.Mapped[str] = so.mapped_column(sa.String(40))
    started_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow, index=True)
    stopped_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    tasks_done: so.Mapped[int] = so.mapped_column(default=0)


class MonitorAlert(Model):
    """One operational alert's state, so every process agrees whether it is firing."""

    __tablename__ = "monitor_alerts"

    key: so.Mapped[str] = so.mapped_column(sa.String(40), primary_key=True)
    is_firing: so.Mapped[bool] = so.mapped_column(default=False)
    fired_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    resolved_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    notified_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    detail: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
