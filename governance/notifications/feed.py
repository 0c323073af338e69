"""A user's in-app notifications as they read them: the list, the unread count, marking read."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from flask import current_app
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound as NotFoundError

from governance import visibility
from governance.auth.models import User
from governance.dbutil import rowcount
from governance.errors import NotFound
from governance.extensions import db
from governance.notifications.models import Notification
from governance.notifications.visibility import can_read_notification
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work
from governance.web import moved


def notification_list_statement(user_id: int) -> sa.Select:
    return (
        sa.select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


def unread_count(user_id: int) -> int:
    """One COUNT on the (user_id, read_at) index."""
    return db.session.execute(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    ).scalar_one()


@unit_of_work()
def mark_all_read(user_id: int) -> int:
    """Mark every unread notification of this user read; returns how many changed."""
    changed = db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return rowcount(changed)


@unit_of_work()
def mark_read(notification_id: int, *, user: User) -> Notification:
    """Mark one of the user's own notifications read (reading it twice changes nothing)."""
    notification = db.session.get(Notification, notification_id)
    # Someone else's notification is not told apart from none at all.
    if notification is None or not can_read_notification(user, notification):
        raise NotFound("No such notification.")
    if notification.read_at is None:
        notification.read_at = utcnow()
    return notification


def openable_link(link: str | None, user: User) -> str | None:
    """safe_link, and only if it opens for this user: a link to an execution, policy or
    exception they may not read is shown as plain text (the notification stays theirs)."""
    link = safe_link(link)
    if link is None:
        return None
    adapter = current_app.url_map.bind("steward")
    parts = urlsplit(link)
    try:
        endpoint, view_args = adapter.match(parts.path, method="GET")
        path = moved.new_path(endpoint, view_args)
        if path is not None:  # stored before its page moved: link (and judge) the page now
            link = urlunsplit(parts._replace(path=path))
            endpoint, view_args = adapter.match(path, method="GET")
    except NotFoundError:  # no page there (an id no row can have included): a dead link
        return None
    except HTTPException:  # a redirect or another method: nothing to check
        return link
    return link if visibility.can_open(user, view_args) else None


def safe_link(link: str | None) -> str | None:
    """Only links inside Steward: a path, never another site or a javascript: URL."""
    if link and link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return link
    return None
