"""Keeping the monitoring data true and small: jobs whose consumer vanished are marked lost,
and old job records, counters, consumers, sent emails and webhook deliveries are pruned on
their retention."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from huey import crontab

from governance.dbutil import rowcount
from governance.extensions import db
from governance.notifications.models import OutboundEmail
from governance.queue import periodic_task
from governance.queues import alerts, heartbeat
from governance.queues.models import Consumer, JobCounter, JobRecord, JobStatus
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work
from governance.webhooks import deliveries
from governance.webhooks.models import WebhookDelivery

PRUNE_BATCH = 5_000
LOST_ERROR = "Its consumer stopped sending heartbeats while the job ran (killed or host lost)."


def mark_lost_jobs(now: datetime) -> int:
    """Running jobs of consumers that are no longer alive did not finish: mark them lost.

    The work itself is not lost: the engine's reconciler takes the step back when its lease
    ends. Jobs run by an unregistered consumer (no id) are left alone: nothing says it died.
    """
    alive = sa.select(Consumer.id).where(heartbeat.alive_condition(now))
    result = db.session.execute(
        sa.update(JobRecord)
        .where(
            JobRecord.status == JobStatus.RUNNING,
            JobRecord.consumer_id.is_not(None),
            JobRecord.consumer_id.not_in(alive),
        )
        .values(status=JobStatus.LOST, finished_at=now, error=LOST_ERROR)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) or 0


def _delete_in_batches(table: sa.Table, key: so.InstrumentedAttribute[int], condition) -> int:
    """Delete in bounded batches, each its own transaction, so no lock is held for long."""
    removed = 0
    while True:
        batch = sa.select(key).where(condition).limit(PRUNE_BATCH).scalar_subquery()
        with unit_of_work():
            count = rowcount(db.session.execute(sa.delete(table).where(key.in_(batch)))) or 0
        removed += count
        if count < PRUNE_BATCH:
            return removed


def prune(now: datetime) -> dict[str, int]:
    """Remove monitoring data past its retention; returns what went, by kind."""
    config = current_app.config
    job_cutoff = now - timedelta(days=config["JOB_RETENTION_DAYS"])
    counter_cutoff = now - timedelta(days=config["COUNTER_RETENTION_DAYS"])
    email_cutoff = now - timedelta(days=config["EMAIL_RETENTION_DAYS"])
    removed = {
        "job_records": _delete_in_batches(
            JobRecord.__table__, JobRecord.id, JobRecord.created_at < job_cutoff
        ),
        # A step's delivery log is kept as long as the job records of its runs.
        "webhook_deliveries": _delete_in_batches(
            WebhookDelivery.__table__, WebhookDelivery.id, deliveries.prune_condition(job_cutoff)
        ),
        "emails": _delete_in_batches(
            OutboundEmail.__table__,
            OutboundEmail.id,
            sa.and_(
                OutboundEmail.status.in_(("sent", "written")),
                OutboundEmail.created_at < email_cutoff,
            ),
        ),
    }
    with unit_of_work():
        removed["job_counters"] = (
            rowcount(
                db.session.execute(sa.delete(JobCounter).where(JobCounter.minute < counter_cutoff))
            )
            or 0
        )
        removed["consumers"] = heartbeat.forget_gone_consumers(now)
    return removed


def tick(now: datetime) -> None:
    """What every consumer does with each heartbeat: mark lost jobs, evaluate the alerts."""
    with unit_of_work():
        mark_lost_jobs(now)
    alerts.evaluate(now)


@periodic_task(crontab(minute="23"))
def prune_monitoring_data_hourly() -> dict[str, int]:
    return prune(utcnow())
