"""What a notification is about, told from its link: the kinds the notifications page filters
by. Each feature that links notifications to its pages registers its kind in its register(app),
with a way to tell the title and current status of a page's worth of its objects in one query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from governance.notifications.models import Notification


@dataclass(frozen=True)
class Subject:
    """The object a notification is about, as it is now."""

    title: str
    status: str = ""  # shown in a badge
    badge: str = ""  # the badge's class, e.g. "status-published" or "run-failed"


@dataclass(frozen=True)
class Target:
    """One notification on the page, its link already judged openable for the reader."""

    notification: Notification
    view_args: Mapping[str, Any]  # the link's path arguments (policy_id=3), empty if none


# (reader, the page's targets of this kind) -> {notification id: Subject}, in one query or two
# whatever the number of targets. Only targets whose link opens for the reader are passed.
Describe = Callable[[Any, list[Target]], dict[int, Subject]]


@dataclass(frozen=True)
class NotificationKind:
    name: str
    label: str  # plural, for the filter: "Policies"
    link_prefixes: tuple[str, ...]  # old addresses too: stored links keep them
    describe: Describe | None = None


_kinds: dict[str, NotificationKind] = {}


def register_kind(kind: NotificationKind) -> None:
    _kinds[kind.name] = kind


def all_kinds() -> list[NotificationKind]:
    return sorted(_kinds.values(), key=lambda kind: kind.label)


def get_kind(name: str) -> NotificationKind | None:
    return _kinds.get(name)


def describer(name: str) -> Describe | None:
    kind = _kinds.get(name)
    return kind.describe if kind else None


def kind_of_link(link: str | None) -> NotificationKind | None:
    if not link:
        return None
    for kind in _kinds.values():
        if any(_under(link, prefix) for prefix in kind.link_prefixes):
            return kind
    return None


def _under(link: str, prefix: str) -> bool:
    path = link.split("?", 1)[0].split("#", 1)[0]
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def link_is_of(kind: NotificationKind) -> sa.ColumnElement[bool]:
    """kind_of_link in SQL: the link is one of the kind's addresses or under one."""
    conditions: list[sa.ColumnElement[bool]] = []
    for prefix in kind.link_prefixes:
        base = prefix.rstrip("/")
        conditions.append(Notification.link == base)
        conditions.append(Notification.link.startswith(base + "/", autoescape=True))
        conditions.append(Notification.link.startswith(base + "?", autoescape=True))
    return sa.or_(*conditions)
