"""The designer's conditions: their flat form fields <-> the draft's `conditions_match` and
`conditions`, and the buttons that add and remove them. Pure: no database, no Flask.

Fields: `cond-match` (all or any) for the whole list; `cond-<i>-field|op|value` for a plain
condition at position i; a group at position i has `cond-<i>-match` and its conditions
`cond-<i>-<j>-field|op|value`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Protocol

_PLAIN = re.compile(r"^cond-(\d+)-(field|op|value)$")
_IN_GROUP = re.compile(r"^cond-(\d+)-(\d+)-(field|op|value)$")
_GROUP_MATCH = re.compile(r"^cond-(\d+)-match$")
# Positions past this are forged (the designer never has so many): they are ignored.
MAX_ITEMS = 50


class FormFields(Protocol):
    """What is read of the submitted form (a werkzeug MultiDict has it)."""

    def get(self, key: str, default: str) -> str: ...
    def __iter__(self) -> Iterator[str]: ...


def empty_condition() -> dict[str, str]:
    return {"field": "policy.category", "op": "equals", "value": ""}


def parse(form: FormFields) -> dict[str, Any]:
    """{"conditions_match": ..., "conditions": [...]} from the designer's fields."""
    plain: dict[int, dict[str, str]] = {}
    groups: dict[int, dict[str, Any]] = {}
    for name in form:
        if match := _PLAIN.match(name):
            index = int(match[1])
            if index < MAX_ITEMS:
                plain.setdefault(index, {})[match[2]] = form.get(name, "")
        elif match := _GROUP_MATCH.match(name):
            index = int(match[1])
            if index < MAX_ITEMS:
                groups.setdefault(index, {"conditions": {}})["match"] = form.get(name, "")
        elif match := _IN_GROUP.match(name):
            index, position = int(match[1]), int(match[2])
            if index < MAX_ITEMS and position < MAX_ITEMS:
                group = groups.setdefault(index, {"conditions": {}})
                group["conditions"].setdefault(position, {})[match[3]] = form.get(name, "")
    items: list[dict[str, Any]] = []
    for index in sorted(plain.keys() | groups.keys()):
        if index in groups:  # a group's fields win over a forged plain one at its position
            group = groups[index]
            rows = group["conditions"]
            items.append(
                {
                    "match": group.get("match", "all"),
                    "conditions": [rows[position] for position in sorted(rows)],
                }
            )
        else:
            items.append(plain[index])
    return {"conditions_match": form.get("cond-match", "all") or "all", "conditions": items}


def apply(definition: dict[str, Any], name: str, args: list[int]) -> bool:
    """Apply a conditions op to the draft in place; False when `name` is not one of them.
    Out-of-range positions change nothing: ops come from a form anyone can forge."""
    items = definition["conditions"]

    def group_rows(index: int) -> list | None:
        item = items[index] if 0 <= index < len(items) else None
        return item["conditions"] if item is not None and "conditions" in item else None

    if name == "add_condition":
        if len(items) < MAX_ITEMS:
            items.append(empty_condition())
    elif name == "add_group":
        if len(items) < MAX_ITEMS:
            items.append({"match": "any", "conditions": [empty_condition()]})
    elif name == "remove_condition":
        if len(args) == 1 and 0 <= args[0] < len(items):
            items.pop(args[0])
    elif name == "add_group_condition":
        rows = group_rows(args[0]) if len(args) == 1 else None
        if rows is not None and len(rows) < MAX_ITEMS:
            rows.append(empty_condition())
    elif name == "remove_group_condition":
        rows = group_rows(args[0]) if len(args) == 2 else None
        if rows is not None and 0 <= args[1] < len(rows):
            rows.pop(args[1])
    else:
        return False
    return True
