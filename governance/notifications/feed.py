"""A user's in-app notifications as they read them: the filtered list grouped by day, each
with what it is about as it is now, the unread count, marking read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
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
from governance.notifications import kinds
from governance.notifications.kinds import NotificationKind, Subject, Target
from governance.notifications.models import Notification
from governance.notifications.visibility import can_read_notification
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work
from governance.web import moved


@dataclass(frozen=True)
class NotificationQuery:
    """The list's filters, as plain values (an unknown kind is simply unset)."""

    unread_only: bool = False
    kind: str = ""  # a registered kind's name; "" for every kind
    page: int = 1

    @property
    def is_filtered(self) -> bool:
        return self.unread_only or bool(self.kind)


def notification_list_statement(user_id: int, query: NotificationQuery | None = None) -> sa.Select:
    """The user's notifications matching the filters, newest first."""
    statement = sa.select(Notification).where(Notification.user_id == user_id)
    if query and query.unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    kind = kinds.get_kind(query.kind) if query and query.kind else None
    if kind is not None:
        statement = statement.where(kinds.link_is_of(kind))
    return statement.order_by(Notification.created_at.desc(), Notification.id.desc())


@dataclass
class Entry:
    """One notification as the page shows it."""

    notification: Notification
    link: str | None  # only if it opens for the reader
    kind: NotificationKind | None
    subject: Subject | None = None  # what it is about, now; None when unknown or not readable


@dataclass
class Day:
    label: str  # "Today", "Yesterday", "Monday 2 March 2026"
    entries: list[Entry] = field(default_factory=list)


def entries_of(notifications: list[Notification], user: User) -> list[Entry]:
    """The page's notifications with their links judged and their objects described: a
    constant number of queries, one per kind of object, however many notifications."""
    matched = [_matched(notification.link) for notification in notifications]
    loaded = visibility.preload(view_args for _, view_args in matched if view_args is not None)
    entries: list[Entry] = []
    targets: dict[str, list[Target]] = {}
    for notification, (link, view_args) in zip(notifications, matched, strict=True):
        if link is not None and view_args is not None and not visibility.can_open(user, view_args):
            link = None
        kind = kinds.kind_of_link(link or notification.link)
        entries.append(Entry(notification, link, kind))
        if kind is not None and link is not None:
            targets.setdefault(kind.name, []).append(Target(notification, view_args or {}))
    subjects: dict[int, Subject] = {}
    for name, of_kind in targets.items():
        describe = kinds.describer(name)
        if describe is not None:
            subjects.update(describe(user, of_kind))
    for entry in entries:
        entry.subject = subjects.get(entry.notification.id)
    del loaded  # held until every link was judged
    return entries


def by_day(entries: list[Entry], now: datetime, zone: tzinfo) -> list[Day]:
    """Consecutive entries of one day in the reader's zone together, the list's order kept."""
    today = now.astimezone(zone).date()
    days: list[Day] = []
    current: date | None = None
    for entry in entries:
        day = entry.notification.created_at.astimezone(zone).date()
        if day != current:
            days.append(Day(_day_label(day, today)))
            current = day
        days[-1].entries.append(entry)
    return days


def _day_label(day: date, today: date) -> str:
    if day == today:
        return "Today"
    if day == today - timedelta(days=1):
        return "Yesterday"
    if day.year == today.year:
        return f"{day:%A} {day.day} {day:%B}"
    return f"{day:%A} {day.day} {day:%B %Y}"


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


def _matched(link: str | None) -> tuple[str | None, Mapping[str, Any] | None]:
    """The safe link (moved to its page's new address) and the path arguments of the page it
    opens, to be judged; (link, None) when there is nothing to judge, (None, None) when it is
    no link to follow. No query: the judging is the caller's."""
    link = safe_link(link)
    if link is None:
        return None, None
    adapter = current_app.url_map.bind("steward")
    parts = urlsplit(link)
    try:
        endpoint, view_args = adapter.match(parts.path, method="GET")
        path = moved.new_path(endpoint, view_args)
        if path is not None:  # stored before its page moved: link (and judge) the page now
            link = urlunsplit(parts._replace(path=path))
            endpoint, view_args = adapter.match(path, method="GET")
    except NotFoundError:  # no page there (an id no row can have included): a dead link
        return None, None
    except HTTPException:  # a redirect or another method: nothing to check
        return link, None
    return link, view_args


def safe_link(link: str | None) -> str | None:
    """Only links inside Steward: a path, never another site or a javascript: URL."""
    if link and link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return link
    return None
