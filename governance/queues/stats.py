"""The queue health figures, each read in constant time: the queue's own counters, the last
hour of per-minute counters, the running records and the consumers' heartbeats. Nothing here
scans job history, however long it grows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from governance.extensions import db, huey
from governance.queues import heartbeat
from governance.queues.models import (
    DURATION_BUCKET_COLUMNS,
    DURATION_BUCKETS_MS,
    Consumer,
    JobCounter,
    JobRecord,
)
from governance.queues.recorder import minute_of

log = logging.getLogger(__name__)
WINDOW_MINUTES = 60
RUNNING_LIST_LIMIT = 200


@dataclass(frozen=True)
class MinutePoint:
    minute: datetime
    started: int = 0
    succeeded: int = 0
    failed: int = 0
    retried: int = 0

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed + self.retried

    @property
    def failure_rate(self) -> float | None:
        """Failed or retried attempts as a share of finished ones; None when nothing finished."""
        return (self.failed + self.retried) / self.finished if self.finished else None


@dataclass(frozen=True)
class TaskDurations:
    task_name: str
    runs: int
    mean_ms: float
    p50_ms: float | None
    p95_ms: float | None


@dataclass(frozen=True)
class QueueSnapshot:
    """What /admin/queues and /health/queues show, measured at `now`."""

    now: datetime
    pending: int | None
    scheduled: int | None
    oldest_pending_age_s: float | None
    queue_error: str | None
    running: int
    running_jobs: list[JobRecord]
    consumers: list[Consumer]
    minutes: list[MinutePoint]
    durations: list[TaskDurations] = field(default_factory=list)
    latest_failed: list[JobRecord] = field(default_factory=list)

    @property
    def consumers_alive(self) -> int:
        return sum(1 for consumer in self.consumers if self.state_of(consumer) == "alive")

    def state_of(self, consumer: Consumer) -> str:
        return heartbeat.consumer_state(consumer, self.now)

    def heartbeat_age_s(self, consumer: Consumer) -> float:
        return max(0.0, (self.now - consumer.last_seen_at).total_seconds())

    def current_tasks(self, consumer: Consumer) -> list[JobRecord]:
        return [job for job in self.running_jobs if job.consumer_id == consumer.id]

    @property
    def failed_last_hour(self) -> int:
        return sum(point.failed for point in self.minutes)

    @property
    def completed_last_hour(self) -> int:
        return sum(point.succeeded for point in self.minutes)

    @property
    def retried_last_hour(self) -> int:
        return sum(point.retried for point in self.minutes)

    @property
    def throughput_per_minute(self) -> float:
        """Jobs finished per minute over the last five minutes, the current one included (as
        far as it has gone), so a burst shows at once."""
        recent = self.minutes[-5:]
        elapsed = len(recent) - 1 + max(self.now.second + self.now.microsecond / 1e6, 1) / 60
        return sum(point.finished for point in recent) / elapsed if recent else 0.0

    @property
    def failure_rate_last_hour(self) -> float | None:
        finished = sum(point.finished for point in self.minutes)
        return (self.failed_last_hour + self.retried_last_hour) / finished if finished else None

    def unhealthy_reasons(self, lag_limit_s: float) -> list[str]:
        """Why /health/queues answers 503; empty when all is well."""
        reasons = []
        if self.queue_error:
            reasons.append(self.queue_error)
        if self.consumers_alive == 0:
            reasons.append("No consumer has sent a fresh heartbeat.")
        if self.oldest_pending_age_s is not None and self.oldest_pending_age_s > lag_limit_s:
            reasons.append(
                f"The oldest waiting job has waited {self.oldest_pending_age_s:.0f} s "
                f"(limit {lag_limit_s:.0f} s)."
            )
        return reasons

    def as_json(self) -> dict:
        return {
            "pending": self.pending,
            "scheduled": self.scheduled,
            "running": self.running,
            "failed_last_hour": self.failed_last_hour,
            "completed_last_hour": self.completed_last_hour,
            "retried_last_hour": self.retried_last_hour,
            "throughput_per_minute": round(self.throughput_per_minute, 2),
            "consumers_alive": self.consumers_alive,
            "oldest_pending_age_s": (
                None if self.oldest_pending_age_s is None else round(self.oldest_pending_age_s, 3)
            ),
        }


def percentile_from_buckets(counts: list[int], quantile: float) -> float | None:
    """Estimate a duration percentile (ms) from bucket counts, interpolating within a bucket.

    The open-ended last bucket reports its lower bound: "more than a minute".
    """
    total = sum(counts)
    if total == 0:
        return None
    rank = quantile * total
    cumulative = 0
    lower = 0.0
    for bound, count in zip((*DURATION_BUCKETS_MS, None), counts, strict=True):
        if count and cumulative + count >= rank:
            if bound is None:
                return lower
            return lower + (bound - lower) * (rank - cumulative) / count
        cumulative += count
        if bound is not None:
            lower = float(bound)
    return lower


def _queue_figures(now: datetime) -> tuple[int | None, int | None, str | None, str | None]:
    """(pending, scheduled, oldest waiting task id, error) straight from Huey's storage."""
    try:
        pending = huey.pending_count()
        scheduled = huey.scheduled_count()
        oldest = huey.storage.enqueued_items(limit=1)
        oldest_id = huey.serializer.deserialize(oldest[0]).id if oldest else None
    except Exception:  # Redis or the queue file is unreachable: say so, do not crash the page
        log.warning("Could not read the queue", exc_info=True)
        return None, None, None, "The queue storage does not answer."
    return pending, scheduled, oldest_id, None


def _minutes(since: datetime, now: datetime) -> list[MinutePoint]:
    rows = db.session.execute(
        sa.select(
            JobCounter.minute,
            sa.func.sum(JobCounter.started),
            sa.func.sum(JobCounter.succeeded),
            sa.func.sum(JobCounter.failed),
            sa.func.sum(JobCounter.retried),
        )
        .where(JobCounter.minute > since)
        .group_by(JobCounter.minute)
    ).all()
    by_minute = {row[0]: MinutePoint(*row) for row in rows}
    first = minute_of(now) - timedelta(minutes=WINDOW_MINUTES - 1)
    return [
        by_minute.get(minute, MinutePoint(minute))
        for minute in (first + timedelta(minutes=offset) for offset in range(WINDOW_MINUTES))
    ]


def _durations(since: datetime) -> list[TaskDurations]:
    buckets = [sa.func.sum(JobCounter.__table__.c[column]) for column in DURATION_BUCKET_COLUMNS]
    rows = db.session.execute(
        sa.select(JobCounter.task_name, sa.func.sum(JobCounter.total_duration_ms), *buckets)
        .where(JobCounter.minute > since)
        .group_by(JobCounter.task_name)
        .order_by(JobCounter.task_name)
    ).all()
    durations = []
    for task_name, total_ms, *counts in rows:
        counts = [int(count or 0) for count in counts]
        runs = sum(counts)
        if runs:
            durations.append(
                TaskDurations(
                    task_name=task_name,
                    runs=runs,
                    mean_ms=float(total_ms or 0) / runs,
                    p50_ms=percentile_from_buckets(counts, 0.50),
                    p95_ms=percentile_from_buckets(counts, 0.95),
                )
            )
    return durations


def _latest_failed(limit: int = 5) -> list[JobRecord]:
    """The newest failed jobs waiting for an operator (an index range, however many)."""
    return list(
        db.session.scalars(
            sa.select(JobRecord)
            .where(JobRecord.status == "error")
            .order_by(JobRecord.finished_at.desc(), JobRecord.id.desc())
            .limit(limit)
        )
    )


def snapshot(now: datetime, *, with_durations: bool = True) -> QueueSnapshot:
    """Every figure of the queue page, in a fixed number of statements and queue commands."""
    pending, scheduled, oldest_id, queue_error = _queue_figures(now)
    oldest_age = None
    if oldest_id is not None:
        enqueued_at = db.session.scalar(
            sa.select(JobRecord.enqueued_at).where(JobRecord.task_id == oldest_id)
        )
        if enqueued_at is not None:
            oldest_age = max(0.0, (now - enqueued_at).total_seconds())
    elif pending == 0:
        oldest_age = 0.0
    running = db.session.scalar(
        sa.select(sa.func.count()).select_from(JobRecord).where(JobRecord.status == "running")
    )
    running_jobs = list(
        db.session.scalars(
            sa.select(JobRecord)
            .where(JobRecord.status == "running")
            .order_by(JobRecord.started_at)
            .limit(RUNNING_LIST_LIMIT)
        )
    )
    since = minute_of(now) - timedelta(minutes=WINDOW_MINUTES)
    return QueueSnapshot(
        now=now,
        pending=pending,
        scheduled=scheduled,
        oldest_pending_age_s=oldest_age,
        queue_error=queue_error,
        running=running or 0,
        running_jobs=running_jobs,
        consumers=heartbeat.listed_consumers(now),
        minutes=_minutes(since, now),
        durations=_durations(since) if with_durations else [],
        latest_failed=_latest_failed() if with_durations else [],
    )


def lag_limit_s() -> float:
    return current_app.config["QUEUE_LAG_LIMIT_SECONDS"]
