"""The email outbox: rows are the truth, Huey only carries their ids.

An email is added in the caller's transaction and its id reaches Huey after that commit. A
consumer claims it with one conditional UPDATE, sends it, and records the result; a failed send
stays queued with a growing back-off until MAX_ATTEMPTS, then it is "failed" for an admin to
send again. The reconciler calls resend_stale_emails() for messages Huey lost.

While an email is queued, `sent_at` holds the time of its latest attempt (NULL before the first)
and `attempts` how many have started: together they are the claim. The next attempt may start
only `retry_delay(attempts)` after the latest one, and the claim UPDATE also matches on
`attempts`, so of two consumers holding the same id only one sends, and a duplicate message
arriving while an attempt is still running finds nothing due.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from governance import queue
from governance.audit.service import record_event
from governance.auth.models import User
from governance.dbutil import rowcount
from governance.errors import Conflict
from governance.extensions import db
from governance.lookup import get_or_raise
from governance.notifications import mail
from governance.notifications.models import OutboundEmail
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 60  # 1, 2, 4, 8 minutes between the five attempts
RETRY_CAP_SECONDS = 3600
# The first retry delay doubles as the lease of a running attempt: an SMTP conversation (each
# step bounded by mail.SMTP_TIMEOUT_SECONDS) finishes well within a minute.
BATCH = 500
# The send task's fixed name (notifications/tasks.py): sent by name, as that module imports this.
SEND_EMAIL = "steward.send_email"


@dataclass(frozen=True)
class Email:
    """One email to queue: recipients, subject, body, and its unique idempotency key."""

    recipients: list[str]
    subject: str
    body: str
    message_key: str


def retry_delay(attempts: int) -> timedelta:
    """How long after attempt number `attempts` the next one may start (exponential)."""
    seconds = RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, RETRY_CAP_SECONDS))


def next_attempt_at(attempts: int, last_attempt_at: datetime | None) -> datetime | None:
    """None: due now (never tried)."""
    if last_attempt_at is None:
        return None
    return last_attempt_at + retry_delay(attempts)


def is_due(attempts: int, last_attempt_at: datetime | None, now: datetime) -> bool:
    due_at = next_attempt_at(attempts, last_attempt_at)
    return due_at is None or due_at <= now


# ------------------------------------------------------------------ queueing


def queue_emails(emails: list[Email]) -> list[int]:
    """Add the emails to the current transaction (no commit); they go to Huey after commit."""
    rows = [
        OutboundEmail(
            message_key=email.message_key[:200],
            recipients=", ".join(email.recipients),
            subject=email.subject[:300],
            body=email.body,
            status="queued",
            attempts=0,
        )
        for email in emails
        if email.recipients
    ]
    if not rows:
        return []
    db.session.add_all(rows)
    db.session.flush()
    email_ids = [row.id for row in rows]
    send_after_commit(email_ids)
    return email_ids


def existing_message_keys(keys: list[str]) -> set[str]:
    if not keys:
        return set()
    statement = sa.select(OutboundEmail.message_key).where(OutboundEmail.message_key.in_(keys))
    return set(db.session.scalars(statement))


def send_after_commit(email_ids: list[int]) -> None:
    """Hand these ids to Huey once the current transaction commits (dropped on rollback).

    If the hand-over fails the rows simply stay queued and resend_stale_emails() sends them
    later.
    """
    queue.send_after_commit(SEND_EMAIL, email_ids)


# ------------------------------------------------------------------ sending (the task's body)


@unit_of_work()
def claim_email(email_id: int, now: datetime) -> OutboundEmail | None:
    """Start an attempt at this email, or None when it is not queued, not yet due, or another
    consumer claimed it first. Commits the claim before anything is sent."""
    row = db.session.execute(
        sa.select(OutboundEmail.status, OutboundEmail.attempts, OutboundEmail.sent_at).where(
            OutboundEmail.id == email_id
        )
    ).one_or_none()
    if row is None or row.status != "queued" or not is_due(row.attempts, row.sent_at, now):
        return None
    if row.attempts >= MAX_ATTEMPTS:
        # The last attempt never reported back (its consumer died): that was the last chance.
        _finish(
            email_id,
            row.attempts,
            status="failed",
            last_error="The last attempt did not finish (its consumer stopped).",
        )
        return None
    claimed = rowcount(
        db.session.execute(
            sa.update(OutboundEmail)
            .where(
                OutboundEmail.id == email_id,
                OutboundEmail.status == "queued",
                OutboundEmail.attempts == row.attempts,
            )
            .values(attempts=row.attempts + 1, sent_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if claimed != 1:
        return None
    return db.session.get(OutboundEmail, email_id)


def deliver(email_id: int, now: datetime | None = None) -> str:
    """Claim, send (SMTP, or an .eml file without MAIL_SERVER), record. Returns the outcome:
    "sent", "written", "retry", "failed" or "not-claimed"."""
    now = now or utcnow()
    email = claim_email(email_id, now)
    if email is None:
        return "not-claimed"
    attempt = email.attempts
    try:
        message = mail.build_message(
            recipients=[address.strip() for address in email.recipients.split(",")],
            subject=email.subject,
            body=email.body,
            message_key=email.message_key,
        )
        if mail.is_smtp_configured():
            mail.send_smtp(message)
            status, file_path = "sent", None
        else:
            path = mail.write_eml(message, email_id=email.id, message_key=email.message_key)
            status, file_path = "written", str(path)
    except (OSError, smtplib.SMTPException) as error:  # refused, timed out, rejected
        return _record_failure(email_id, attempt, now, error)
    except Exception as error:  # a bug or bad data: still an attempt, recorded, not a crash
        log.exception("Email %s could not be built or sent", email_id)
        return _record_failure(email_id, attempt, now, error)
    _finish(email_id, attempt, status=status, file_path=file_path, sent_at=utcnow())
    return status


@unit_of_work()
def _finish(email_id: int, attempt: int, **values) -> bool:
    """Record an attempt's result, only if the claim is still this attempt's."""
    changed = rowcount(
        db.session.execute(
            sa.update(OutboundEmail)
            .where(
                OutboundEmail.id == email_id,
                OutboundEmail.status == "queued",
                OutboundEmail.attempts == attempt,
            )
            .values(last_error=values.pop("last_error", None), **values)
            .execution_options(synchronize_session=False)
        )
    )
    return changed == 1


def _record_failure(email_id: int, attempt: int, now: datetime, error: Exception) -> str:
    message = f"{type(error).__name__}: {error}"[:1000]
    if attempt >= MAX_ATTEMPTS:
        log.error("Email %s failed after %d attempts: %s", email_id, attempt, message)
        _finish(email_id, attempt, status="failed", last_error=message, sent_at=now)
        return "failed"
    log.warning("Email %s attempt %d failed (%s); retrying later", email_id, attempt, message)
    if not _finish(email_id, attempt, last_error=message, sent_at=now):
        return "not-claimed"
    # The back-off lives in the row; the task asks Huey for the wake-up call (see tasks.py).
    return "retry"


# ------------------------------------------------------------------ reconciler and admin


def resend_stale_emails(now: datetime) -> int:
    """Re-send queued emails older than STALE_QUEUED_SECONDS that are due and whose message is
    not still waiting in the queue (Huey lost it, or the enqueue failed). Returns how many.

    Changes no rows: a duplicate message finds nothing to claim, so two reconcilers at once
    are harmless.
    """
    stale_after = timedelta(seconds=current_app.config["STALE_QUEUED_SECONDS"])
    rows = db.session.execute(
        sa.select(OutboundEmail.id, OutboundEmail.attempts, OutboundEmail.sent_at)
        .where(OutboundEmail.status == "queued", OutboundEmail.created_at < now - stale_after)
        .order_by(OutboundEmail.id)
        .limit(BATCH)
    ).all()
    due = [row.id for row in rows if is_due(row.attempts, row.sent_at, now)]
    if not due:
        return 0
    waiting = queue.ids_waiting_in_queue(SEND_EMAIL)
    if waiting is None:
        return 0
    return queue.send_now(SEND_EMAIL, [email_id for email_id in due if email_id not in waiting])


@unit_of_work()
def send_again(email_id: int, *, actor: User) -> OutboundEmail:
    """An admin re-queues a failed email: five fresh attempts."""
    email = get_or_raise(OutboundEmail, email_id, "No such email.")
    # Conditional: two admins clicking at once queue it once.
    changed = rowcount(
        db.session.execute(
            sa.update(OutboundEmail)
            .where(OutboundEmail.id == email_id, OutboundEmail.status == "failed")
            .values(status="queued", attempts=0, sent_at=None)
            .execution_options(synchronize_session=False)
        )
    )
    if changed != 1:
        db.session.refresh(email)  # what the other admin's click left
        raise Conflict(f"Only a failed email can be sent again; this one is {email.status}.")
    record_event(
        actor_id=actor.id,
        action="email.resent",
        object_type="outbound_email",
        object_id=email_id,
        summary=f"{actor.name} queued the failed email “{email.subject}” to "
        f"{email.recipients} again",
    )
    send_after_commit([email_id])
    return email


def outbox_statement() -> sa.Select:
    """Newest first; the bodies stay in the database until a detail page asks for one."""
    return (
        sa.select(OutboundEmail)
        .options(so.defer(OutboundEmail.body))
        .order_by(OutboundEmail.created_at.desc(), OutboundEmail.id.desc())
    )


def get_email(email_id: int) -> OutboundEmail:
    return get_or_raise(OutboundEmail, email_id, "No such email.")
