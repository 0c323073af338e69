"""Who may read what, across features: each feature owns the rule for its own objects (its
`visibility.py`) and registers it here in its register(app), for what needs every feature's rule
at once: whether a link opens for a user, and who may read the subject of an execution that a
feature's trigger started.

An object the user may not read does not exist for them: 404, never 403 (a 403 would tell that
it exists). 403 is only for an object they may read but not change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from governance.extensions import db

# (user, object) -> whether the user may read it
ReadRule = Callable[[Any, Any], bool]

# A path argument names an object; the link opens only if every object it names is readable.
_path_objects: dict[str, tuple[type, ReadRule]] = {}
# Loader options for what a path object's read rule reads beyond its row (preload).
_path_loads: dict[str, tuple[Any, ...]] = {}
# An execution's trigger type -> who may read the subject of the executions it starts.
_subject_rules: dict[str, ReadRule] = {}

_MAX_ID = 2**31 - 1  # the id columns are 32-bit on PostgreSQL: a larger id names nothing


def register_path_object(
    name: str, model: type, can_read: ReadRule, loads: tuple[Any, ...] = ()
) -> None:
    """`name` in a URL's path (e.g. "policy_id") names a `model` row, readable by `can_read`;
    `loads` are the loader options for what `can_read` reads beyond the row (see preload)."""
    _path_objects[name] = (model, can_read)
    _path_loads[name] = loads


def register_subject_rule(trigger_type: str, can_read: ReadRule) -> None:
    """Who may read the subject of an execution with this trigger type (user, execution)."""
    _subject_rules[trigger_type] = can_read


def subject_rule(trigger_type: str) -> ReadRule | None:
    return _subject_rules.get(trigger_type)


def _loaded(model: type, ident: Any) -> Any:
    return db.session.get(model, ident) if isinstance(ident, int) and 0 < ident <= _MAX_ID else None


def preload(many_view_args: Iterable[Mapping[str, Any]]) -> list[Any]:
    """Load every object these matched URLs name, one query per kind of object, into the
    session: can_open() then finds them there, and a page of 50 links costs what one does.
    Keep the returned rows while judging: the session holds its rows only weakly."""
    wanted: dict[str, set[int]] = {}
    rows: list[Any] = []
    for view_args in many_view_args:
        for name, value in view_args.items():
            if name in _path_objects and isinstance(value, int) and 0 < value <= _MAX_ID:
                wanted.setdefault(name, set()).add(value)
    for name, ids in wanted.items():
        model, _ = _path_objects[name]
        key: Any = sa.inspect(model).primary_key[0]
        statement: sa.Select = sa.select(model).where(key.in_(sorted(ids)))
        rows.extend(db.session.scalars(statement.options(*_path_loads[name])).unique())
    return rows


def can_open(user: Any, view_args: Mapping[str, Any]) -> bool:
    """Whether every object a matched URL's path names (policy_id=3, execution_id=7...) is
    readable by this user: a notification or an email then links only to what they may open."""
    for name, value in view_args.items():
        known = _path_objects.get(name)
        if known is None:
            continue
        model, can_read = known
        row = _loaded(model, value)
        if row is None or not can_read(user, row):
            return False
    return True
