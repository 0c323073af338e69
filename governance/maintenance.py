"""Housekeeping tasks the consumer runs on a schedule."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from huey import crontab
from limits import parse

from governance.auth.models import UserSession
from governance.auth.throttle import prune_login_failures
from governance.dbutil import rowcount
from governance.extensions import db
from governance.queue import periodic_task
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work
from governance.workflows.inbound import forget_old_messages

SESSION_RETENTION = timedelta(days=30)


def prune_ended_sessions() -> int:
    """Delete session rows that ended or expired long ago; returns how many went."""
    cutoff = utcnow() - SESSION_RETENTION
    with unit_of_work():
        result = db.session.execute(
            sa.delete(UserSession).where(
                sa.or_(UserSession.revoked_at < cutoff, UserSession.created_at < cutoff)
            )
        )
    return rowcount(result) or 0


@periodic_task(crontab(minute="17", hour="3"))
def prune_ended_sessions_nightly() -> int:
    return prune_ended_sessions()


@periodic_task(crontab(minute="*/10"))
def forget_old_webhook_messages() -> int:
    """Inbound webhook message ids are kept only while a replay could pass the window."""
    return forget_old_messages()


def prune_old_login_failures() -> int:
    """Forget login-failure counts whose window has passed (each bad login may add a row)."""
    window = timedelta(seconds=parse(current_app.config["LOGIN_FAILURE_LIMIT"]).get_expiry())
    return prune_login_failures(utcnow(), window)


@periodic_task(crontab(minute="23"))
def prune_login_failures_hourly() -> int:
    return prune_old_login_failures()
