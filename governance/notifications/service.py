"""Telling people about things: an in-app notification each, and email as they chose.

notify_users() is the workflow step's way in (keyed by the step run); notify() is the same for
everything else (escalations, reminders, delegations). Both write in the caller's transaction
and never commit: the notification lands exactly once with the change that caused it, and the
emails reach the queue only after that commit.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from governance.auth.models import NOTIFY_CHOICES, User, group_members
from governance.extensions import db
from governance.links import absolute_link
from governance.notifications import outbox
from governance.notifications.feed import safe_link
from governance.notifications.models import Notification

EMAIL_FOOTER = (
    "You get this email because your Steward notification setting is “{choice}”.\n"
    "You can change it on your account page: {account}"
)
URGENT_FOOTER = (
    "You get this email because you are a Steward administrator: operational alerts are\n"
    "emailed at once, whatever your notification setting."
)


def notify_users(
    user_ids: list[int],
    *,
    subject: str,
    body: str,
    link: str | None = None,
    step_run_id: int | None = None,
) -> list[int]:
    """Add one notification per user to the current transaction (no commit) and queue email.

    The in-app notification is exactly-once (it commits with the step). Email is an external
    effect and at-least-once: its key and Message-ID derive from the step run, so the outbox
    never holds two for the same step and user, and a mail system that de-duplicates drops a
    second copy after a retry.
    """
    key = f"step-run-{step_run_id}" if step_run_id is not None else None
    return _notify(
        user_ids, subject=subject, body=body, link=link, step_run_id=step_run_id, dedupe_key=key
    )


def notify(
    user_ids: Iterable[int],
    *,
    subject: str,
    body: str = "",
    link: str | None = None,
    dedupe_key: str | None = None,
    urgent: bool = False,
) -> list[int]:
    """Notify these users about anything that is not a workflow step (no commit).

    `dedupe_key` names the event (e.g. "escalation-request-42"): it becomes the email's
    idempotency key, so the same event never queues a second email to the same person, even
    from a later transaction. In-app notifications are as exactly-once as the caller's own
    transaction: guard the event with a conditional UPDATE, as escalate() and remind() do.
    `urgent` (operational alerts) emails everyone at once, whatever their digest or in-app
    choice: an outage cannot wait for tomorrow's digest. Returns the ids notified.
    """
    return _notify(
        user_ids,
        subject=subject,
        body=body,
        link=link,
        step_run_id=None,
        dedupe_key=dedupe_key,
        urgent=urgent,
    )


def user_ids_of_groups(group_ids: Iterable[int]) -> list[int]:
    """The enabled members of these groups, each once, in id order."""
    group_ids = list(group_ids)
    if not group_ids:
        return []
    statement = (
        sa.select(User.id)
        .join(group_members, group_members.c.user_id == User.id)
        .where(group_members.c.group_id.in_(group_ids), User.is_enabled.is_(True))
        .distinct()
        .order_by(User.id)
    )
    return list(db.session.scalars(statement))


def email_body(body: str, link: str | None, notify_by: str | None) -> str:
    """The email's text; `notify_by` None marks an urgent email, sent whatever the setting.
    Links are absolute: a mail reader has no Steward page to be relative to."""
    parts = [body.strip()] if body and body.strip() else []
    if safe := safe_link(link):
        parts.append(f"Open in Steward: {absolute_link(safe)}")
    footer = (
        URGENT_FOOTER
        if notify_by is None
        else EMAIL_FOOTER.format(
            choice=NOTIFY_CHOICES[notify_by], account=absolute_link("/account")
        )
    )
    parts.append("-- \n" + footer)
    return "\n\n".join(parts) + "\n"


def _notify(
    user_ids: Iterable[int],
    *,
    subject: str,
    body: str,
    link: str | None,
    step_run_id: int | None,
    dedupe_key: str | None,
    urgent: bool = False,
) -> list[int]:
    user_ids = list(dict.fromkeys(user_ids))  # each person once, in the caller's order
    if not user_ids:
        return []
    subject = subject[:200]
    notifications = {
        user_id: Notification(
            user_id=user_id, subject=subject, body=body, link=link, step_run_id=step_run_id
        )
        for user_id in user_ids
    }
    db.session.add_all(notifications.values())
    db.session.flush()
    # Only those who chose "email" get one now; "digest" users get send_due_digests(), and
    # "in_app" users never. A disabled account gets no mail.
    wants_email = sa.true() if urgent else User.notify_by == "email"
    recipients = db.session.execute(
        sa.select(User.id, User.email).where(
            User.id.in_(user_ids), User.is_enabled.is_(True), wants_email
        )
    ).all()
    emails = [
        outbox.Email(
            recipients=[address],
            subject=subject,
            body=email_body(body, link, None if urgent else "email"),
            message_key=(
                f"{dedupe_key}:user-{user_id}"
                if dedupe_key
                else f"notification-{notifications[user_id].id}"
            ),
        )
        for user_id, address in recipients
    ]
    if dedupe_key:
        taken = outbox.existing_message_keys([email.message_key for email in emails])
        emails = [email for email in emails if email.message_key not in taken]
    outbox.queue_emails(emails)
    return user_ids
