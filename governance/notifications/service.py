"""Writing in-app notifications and sending their emails."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app

from governance.auth.models import User
from governance.extensions import db
from governance.notifications.models import Notification

log = logging.getLogger(__name__)


def notify_users(
    user_ids: list[int],
    *,
    subject: str,
    body: str,
    link: str | None = None,
    step_run_id: int | None = None,
) -> list[int]:
    """Add one notification per user to the current transaction (no commit) and send mail.

    The in-app notification is exactly-once (it commits with the step). Email is an external
    effect and at-least-once: its Message-ID is derived from the step run, so a mail system
    that de-duplicates will drop a second copy after a retry.
    """
    if not user_ids:
        return []
    for user_id in user_ids:
        db.session.add(
            Notification(
                user_id=user_id, subject=subject, body=body, link=link, step_run_id=step_run_id
            )
        )
    db.session.flush()
    emails = db.session.scalars(sa.select(User.email).where(User.id.in_(user_ids))).all()
    send_email(emails, subject, body, message_key=f"step-run-{step_run_id}")
    return user_ids


def send_email(recipients: list[str], subject: str, body: str, *, message_key: str) -> bool:
    """Send through MAIL_SERVER when one is configured; otherwise only log it."""
    config = current_app.config
    if not recipients:
        return False
    if not config.get("MAIL_SERVER"):
        log.info("Mail not configured; would send %r to %d recipient(s)", subject, len(recipients))
        return False
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config["MAIL_FROM"]
    message["To"] = ", ".join(recipients)
    message["Message-ID"] = f"<{message_key}@steward>"
    message.set_content(body)
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)
    return True
