"""Counts the navigation shows (inbox badge, unread bell), each computed at most once a request."""

from __future__ import annotations

from collections.abc import Callable

from flask import g
from flask_login import current_user


def lazy_user_count(key: str, count_for: Callable[[int], int]) -> Callable[[], int]:
    """A template function returning `count_for(user id)`, cached on `g` under `key`.

    A function rather than a number: the COUNT runs only when a page's navigation asks for
    it, not for every fragment an htmx poll renders. A view that already knows the number
    can store it on `g` under `key` to spare the query.
    """

    def count() -> int:
        if not current_user.is_authenticated:
            return 0
        if key not in g:
            setattr(g, key, count_for(current_user.id))
        return g.get(key)

    return count
