"""The daily digest: one email listing what a "digest" user was notified of since the last one."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from governance.auth.models import User
from governance.dbutil import rowcount
from governance.extensions import db
from governance.links import absolute_link
from governance.notifications import outbox
from governance.notifications.feed import safe_link
from governance.notifications.models import Notification
from governance.notifications.service import email_body

DIGEST_INTERVAL = timedelta(hours=24)
MAX_LISTED = 50  # a digest stays readable; the rest is one click away in Steward
BATCH = 500


def send_due_digests(now: datetime) -> int:
    """Queue one digest for every enabled digest user whose last one is 24 hours old (or who
    never had one) and who has notifications since; returns how many were queued.

    No commit: the caller commits, then the emails go to the queue. Each user's window is
    claimed with a conditional UPDATE, so two reconcilers running this at once queue one
    digest, not two.
    """
    cutoff = now - DIGEST_INTERVAL
    new_since_last = sa.exists().where(
        Notification.user_id == User.id,
        Notification.created_at <= now,
        sa.or_(
            sa.and_(User.digest_sent_at.is_(None), Notification.created_at > cutoff),
            Notification.created_at > User.digest_sent_at,
        ),
    )
    due = db.session.execute(
        sa.select(User.id, User.email, User.digest_sent_at)
        .where(
            User.is_enabled.is_(True),
            User.notify_by == "digest",
            sa.or_(User.digest_sent_at.is_(None), User.digest_sent_at <= cutoff),
            new_since_last,
        )
        .order_by(User.id)
        .limit(BATCH)
    ).all()
    queued = 0
    for user_id, address, last_sent_at in due:
        if not claim_digest(user_id, last_sent_at, now):
            continue  # another reconciler took this one
        # Never sent: the last day only, not everything the account ever received.
        if _queue_digest(user_id, address, since=last_sent_at or cutoff, now=now):
            queued += 1
    return queued


def claim_digest(user_id: int, last_sent_at: datetime | None, now: datetime) -> bool:
    """Move the user's digest window to `now` if nobody moved it since we read `last_sent_at`."""
    unchanged = (
        User.digest_sent_at.is_(None)
        if last_sent_at is None
        else User.digest_sent_at == last_sent_at
    )
    changed = db.session.execute(
        sa.update(User)
        .where(
            User.id == user_id,
            User.notify_by == "digest",
            User.is_enabled.is_(True),
            unchanged,
        )
        .values(digest_sent_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(changed) == 1


def digest_subject(count: int, since: datetime) -> str:
    return f"Steward: {count} notification{'s' if count != 1 else ''} since {since:%A}"


def _queue_digest(user_id: int, address: str, *, since: datetime, now: datetime) -> bool:
    window = (
        Notification.user_id == user_id,
        Notification.created_at > since,
        Notification.created_at <= now,
    )
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(*window))
    if not count:
        return False
    listed = db.session.scalars(
        sa.select(Notification)
        .where(*window)
        .order_by(Notification.created_at, Notification.id)
        .limit(MAX_LISTED)
    ).all()
    lines = [f"What happened in Steward since {since:%A %d %b %Y, %H:%M} UTC:", ""]
    for notification in listed:
        lines.append(f"* {notification.created_at:%a %d %b %H:%M} – {notification.subject}")
        if notification.body:
            lines.append(f"  {_one_line(notification.body)}")
        if safe := safe_link(notification.link):
            lines.append(f"  Open in Steward: {absolute_link(safe)}")
    if count > len(listed):
        lines.append(f"… and {count - len(listed)} more on your notifications page.")
    outbox.queue_emails(
        [
            outbox.Email(
                recipients=[address],
                subject=digest_subject(count, since),
                body=email_body("\n".join(lines), "/notifications", "digest"),
                message_key=f"digest-user-{user_id}-{now:%Y%m%dT%H%M%S%f}",
            )
        ]
    )
    return True


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
