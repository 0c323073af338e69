"""Operational alerts: too many failed jobs, or work waiting with no consumer alive.

Every consumer evaluates them with each heartbeat, and the web app now and then (a dead
consumer cannot report its own death). Each change of state is a conditional UPDATE, so all
of them at once notify once. A firing alert notifies admins (in the app and by email) once per
ALERT_WINDOW_SECONDS however long it lasts, and says "resolved" when it clears.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, Response, current_app

from governance.auth.service import users_with_role
from governance.dbutil import insert_on_conflict, rowcount
from governance.extensions import db, huey
from governance.notifications import outbox
from governance.notifications.kinds import NotificationKind, register_kind
from governance.notifications.models import OutboundEmail
from governance.notifications.service import notify
from governance.queues import heartbeat
from governance.queues.models import Consumer, JobCounter, MonitorAlert
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work

log = logging.getLogger(__name__)
ALERTS = MonitorAlert.__table__
QUEUES_PAGE = "/admin/queues"


@dataclass(frozen=True)
class Condition:
    key: str
    title: str
    is_firing: bool
    detail: str


def _jobs(count: int) -> str:
    return f"{count} job" if count == 1 else f"{count} jobs"


def failures_in_last_5_minutes(now: datetime) -> int:
    since = now.replace(second=0, microsecond=0) - timedelta(minutes=4)
    return int(
        db.session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(JobCounter.failed), 0)).where(
                JobCounter.minute >= since, JobCounter.minute <= now
            )
        ).scalar_one()
    )


def conditions(now: datetime) -> list[Condition]:
    """The alerts' current truth. Unknown (the queue cannot be read) counts as not firing."""
    threshold = current_app.config["ALERT_FAILURES_5MIN"]
    failures = failures_in_last_5_minutes(now)
    alive = db.session.scalar(
        sa.select(sa.func.count()).select_from(Consumer).where(heartbeat.alive_condition(now))
    )
    try:
        pending = huey.pending_count()
    except Exception:
        pending = 0
    return [
        Condition(
            key="job_failures",
            title="Jobs are failing",
            is_firing=failures > threshold,
            detail=f"{_jobs(failures)} failed in the last 5 minutes (alert above {threshold}).",
        ),
        Condition(
            key="no_consumer",
            title="No consumer is running",
            is_firing=alive == 0 and pending > 0,
            detail=f"{_jobs(pending)} waiting and no consumer has sent a fresh heartbeat.",
        ),
    ]


def _ensure_rows(keys: list[str]) -> None:
    insert = insert_on_conflict(ALERTS, db.engine.dialect.name)
    for key in keys:
        db.session.execute(
            insert.values(key=key, is_firing=False, detail="").on_conflict_do_nothing()
        )


def _transition(condition: Condition, now: datetime) -> str | None:
    """Move the alert's row to the condition's state; returns what to tell admins, if anything."""
    window_start = now - timedelta(seconds=current_app.config["ALERT_WINDOW_SECONDS"])
    row = ALERTS.c
    if condition.is_firing:
        started = db.session.execute(
            sa.update(ALERTS)
            .where(row.key == condition.key, row.is_firing.is_(False))
            .values(is_firing=True, fired_at=now, resolved_at=None, detail=condition.detail)
        )
        # Notified once per window: a flapping alert or a long outage does not flood anyone.
        notified = db.session.execute(
            sa.update(ALERTS)
            .where(
                row.key == condition.key,
                row.is_firing.is_(True),
                sa.or_(row.notified_at.is_(None), row.notified_at <= window_start),
            )
            .values(notified_at=now, detail=condition.detail)
        )
        if rowcount(notified):
            return "firing" if rowcount(started) else "still firing"
        return None
    resolved = db.session.execute(
        sa.update(ALERTS)
        .where(row.key == condition.key, row.is_firing.is_(True))
        .values(is_firing=False, resolved_at=now)
        .returning(row.fired_at, row.notified_at)
    ).one_or_none()
    if resolved and resolved.notified_at is not None and resolved.notified_at >= resolved.fired_at:
        return "resolved"  # only an alert someone was told about is worth a "resolved"
    return None


def _tell_admins(condition: Condition, change: str, now: datetime) -> str:
    """Notify every admin (no commit); returns the event's key, which names its emails."""
    subject = {
        "firing": f"Alert: {condition.title}",
        "still firing": f"Alert still firing: {condition.title}",
        "resolved": f"Resolved: {condition.title}",
    }[change]
    body = (
        condition.detail if change != "resolved" else f"Back to normal at {now:%Y-%m-%d %H:%M} UTC."
    )
    dedupe_key = f"alert-{condition.key}-{change.replace(' ', '-')}-{now:%Y%m%dT%H%M%S%f}"
    notify(
        [admin.id for admin in users_with_role("admin")],
        subject=subject,
        body=body,
        link=QUEUES_PAGE,
        dedupe_key=dedupe_key,
        urgent=True,
    )
    return dedupe_key


def _send_now(dedupe_key: str) -> None:
    """Send an alert's emails from this process (after commit). When no consumer is alive,
    none would take their send messages off the queue; those find nothing left to send."""
    email_ids = db.session.scalars(
        sa.select(OutboundEmail.id).where(
            OutboundEmail.message_key.startswith(f"{dedupe_key}:", autoescape=True),
            OutboundEmail.status == "queued",
        )
    ).all()
    for email_id in email_ids:
        try:
            outbox.deliver(email_id)
        except Exception:  # the outbox keeps the row queued; its send message tries again
            log.warning("Could not send alert email %s now", email_id, exc_info=True)
            # The outbox's units rolled back their own writes; a failed read may still hold
            # the session's transaction, and the next email needs a clean one.
            db.session.rollback()


def evaluate(now: datetime) -> dict[str, bool]:
    """Bring every alert up to date and notify admins of changes; commits. Returns the states."""
    with unit_of_work():
        current = conditions(now)
        _ensure_rows([condition.key for condition in current])
        send_now = []
        for condition in current:
            change = _transition(condition, now)
            if change:
                dedupe_key = _tell_admins(condition, change, now)
                if condition.key == "no_consumer":  # the consumers are what is down
                    send_now.append(dedupe_key)
                log.warning("Alert %s: %s (%s)", condition.key, change, condition.detail)
    for dedupe_key in send_now:
        _send_now(dedupe_key)
    return {condition.key: condition.is_firing for condition in current}


def firing_alerts() -> list[MonitorAlert]:
    return list(db.session.scalars(sa.select(MonitorAlert).where(MonitorAlert.is_firing.is_(True))))


QUEUE_NOTIFICATIONS = NotificationKind("queue", "Queue alerts", (QUEUES_PAGE,))


def init_app(app: Flask) -> None:
    """Let the web app evaluate the alerts every WEB_ALERT_CHECK_SECONDS (0: never), after a
    response has gone out, so "no consumer alive" is noticed even when every consumer is down;
    the alerts' notifications are of their own kind on the notifications page."""
    register_kind(QUEUE_NOTIFICATIONS)
    every = app.config["WEB_ALERT_CHECK_SECONDS"]
    if not every:
        return
    last_check = [float("-inf")]  # per process: each web worker checks on its own clock

    @app.after_request
    def check_alerts_now_and_then(response: Response) -> Response:
        if time.monotonic() - last_check[0] < every:
            return response
        last_check[0] = time.monotonic()

        def check() -> None:
            with app.app_context():
                try:
                    evaluate(utcnow())
                except Exception:  # the app context's end discards what the session held
                    log.warning("Could not evaluate the alerts", exc_info=True)

        response.call_on_close(check)
        return response
