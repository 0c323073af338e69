"""Users and groups in a definition: ids here, emails and group names in a file. An id means
nothing in another Steward, an email or a group name does; an import resolves them back."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa

from governance.auth.models import Group, User
from governance.engine.steps import FieldKind, step_types
from governance.extensions import db
from governance.parsing import id_or_none

USER_KINDS = frozenset({FieldKind.USERS, FieldKind.USER, FieldKind.ASSIGNEE})
GROUP_KINDS = frozenset({FieldKind.GROUPS, FieldKind.GROUP})
# An assignee that names no one in particular, kept as it is.
ASSIGNEE_WORDS = frozenset({"owner", "group"})


def _reference_fields(definition: dict[str, Any]) -> Iterator[tuple[str, dict, str, FieldKind]]:
    """(path, config, field name, kind) of every user or group field the definition's steps
    have, for step types registered here (an unknown type is the validator's to report)."""
    registered = step_types()
    for stage_index, stage in enumerate(definition.get("stages") or []):
        for step_index, step in enumerate(stage.get("steps") or []):
            step_type = registered.get(str(step.get("type") or ""))
            config = step.get("config")
            if step_type is None or not isinstance(config, dict):
                continue
            for field in step_type.fields:
                if field.kind in USER_KINDS | GROUP_KINDS and field.name in config:
                    path = f"stages.{stage_index}.steps.{step_index}.config.{field.name}"
                    yield path, config, field.name, field.kind


def _as_list(value: Any) -> list[Any]:
    if value in (None, ""):
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def to_portable(definition: dict[str, Any]) -> dict[str, Any]:
    """A copy naming users by email and groups by name instead of by id."""
    portable = copy.deepcopy(definition)
    fields = list(_reference_fields(portable))
    ids = {kind: set[int]() for kind in ("user", "group")}
    for _, config, name, kind in fields:
        for value in _as_list(config[name]):
            if (number := id_or_none(value)) is not None:
                ids["group" if kind in GROUP_KINDS else "user"].add(number)
    emails = dict(
        db.session.execute(sa.select(User.id, User.email).where(User.id.in_(ids["user"]))).all()
    )
    names = dict(
        db.session.execute(sa.select(Group.id, Group.name).where(Group.id.in_(ids["group"]))).all()
    )

    def portable_one(value: Any, kind: FieldKind) -> Any:
        if kind == FieldKind.ASSIGNEE and value in ASSIGNEE_WORDS:
            return value
        number = id_or_none(value)
        if number is None:
            return None
        known = names if kind in GROUP_KINDS else emails
        # Gone since it was saved: named so that an import says what is missing.
        return known.get(number, f"#{number} (no longer here)")

    for _, config, name, kind in fields:
        if kind in (FieldKind.USERS, FieldKind.GROUPS):
            config[name] = [portable_one(value, kind) for value in _as_list(config[name])]
        else:
            config[name] = portable_one(config[name], kind)
    return portable


def references(definition: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The emails and the group names a portable definition names, each once, in order."""
    emails: dict[str, None] = {}
    groups: dict[str, None] = {}
    for _, config, name, kind in _reference_fields(definition):
        for value in _as_list(config[name]):
            if not isinstance(value, str) or value in ASSIGNEE_WORDS:
                continue
            (groups if kind in GROUP_KINDS else emails).setdefault(value.strip(), None)
    return list(emails), list(groups)


def from_portable(
    definition: dict[str, Any], *, chosen_groups: Mapping[str, int | None] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """A copy naming users and groups by their ids here, and {path: message} for each one that
    is not here. `chosen_groups` maps a group name to the group to use instead (None: none);
    the gallery asks the admin. What is not found is left out, so the validator can still
    check the rest."""
    resolved = copy.deepcopy(definition)
    chosen = dict(chosen_groups or {})
    fields = list(_reference_fields(resolved))
    errors: dict[str, str] = {}
    emails, names = references(resolved)
    user_ids: dict[str, int] = dict(
        db.session.execute(
            sa.select(sa.func.lower(User.email), User.id).where(
                sa.func.lower(User.email).in_([email.lower() for email in emails])
            )
        ).all()
    )
    group_ids: dict[str, int] = dict(
        db.session.execute(
            sa.select(sa.func.lower(Group.name), Group.id).where(
                sa.func.lower(Group.name).in_([name.lower() for name in names])
            )
        ).all()
    )

    def resolve(value: Any, kind: FieldKind, path: str) -> int | str | None:
        if kind == FieldKind.ASSIGNEE and value in ASSIGNEE_WORDS:
            return value
        if isinstance(value, bool) or not isinstance(value, str):
            errors[path] = (
                "Name users by email and groups by name (as text), not by id: ids differ "
                "from one Steward to another."
            )
            return None
        text = value.strip()
        if kind in GROUP_KINDS:
            if text in chosen:
                return chosen[text]
            found = group_ids.get(text.lower())
            if found is None:
                errors[path] = f"There is no group “{text}” here; create it, or change the file."
            return found
        found = user_ids.get(text.lower())
        if found is None:
            errors[path] = (
                f"There is no user with the email “{text}” here; create the account, or "
                "change the file."
            )
        return str(found) if found is not None and kind == FieldKind.ASSIGNEE else found

    for path, config, name, kind in fields:
        if kind in (FieldKind.USERS, FieldKind.GROUPS):
            values = [resolve(value, kind, path) for value in _as_list(config[name])]
            config[name] = [value for value in values if value is not None]
        else:
            value = config[name]
            config[name] = None if value in (None, "") else resolve(value, kind, path)
            if kind == FieldKind.ASSIGNEE and config[name] is None:
                config[name] = ""
    return resolved, errors
