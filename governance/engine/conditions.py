"""Conditions over the policy, the trigger data and earlier steps' outputs. Pure: no database.

A workflow's conditions are a list whose items are plain conditions ({"field", "op",
"value"}) or groups of plain conditions ({"match": "any", "conditions": [...]}), one level
deep; the definition's "conditions_match" says whether all of the list or any one of it must
hold (engine/definition.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OPERATORS = {
    "equals": "equals",
    "not_equals": "does not equal",
    "in": "is one of",
    "contains": "contains",
    "changed": "changed",
}
# How the items of a list combine: every one must hold, or at least one.
MATCHES = {"all": "all must hold", "any": "any one is enough"}
POLICY_FIELDS = ("status", "category", "owner", "tags", "title")
FIELD_LABELS = {
    "policy.status": "Policy status",
    "policy.category": "Policy category",
    "policy.owner": "Policy owner (email)",
    "policy.tags": "Policy tags",
    "policy.title": "Policy title",
    "trigger.old_status": "Old status (trigger)",
    "trigger.new_status": "New status (trigger)",
}


def is_known_field(field: str) -> bool:
    if field in FIELD_LABELS:
        return True
    parts = field.split(".")
    if parts[0] == "trigger" and len(parts) == 2 and parts[1]:
        return True
    return parts[0] == "steps" and len(parts) >= 4 and parts[2] == "output" and all(parts)


def resolve(field: str, data: Mapping[str, Any]) -> Any:
    """The value at a dotted path ("steps.legal.output.decision"), or None when absent."""
    value: Any = data
    for part in field.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set):
        return [str(item).strip().lower() for item in value]
    return [item.strip().lower() for item in str(value).split(",") if item.strip()]


def _has_changed(field: str, data: Mapping[str, Any]) -> bool:
    trigger = data.get("trigger") or {}
    name = field.split(".", 1)[1] if field.startswith("policy.") else field
    if name == "status" and trigger.get("old_status") != trigger.get("new_status"):
        return trigger.get("old_status") is not None
    return name in (trigger.get("changed") or [])


def evaluate(condition: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    """True when the condition holds. Text comparisons ignore case and surrounding spaces."""
    field, operator, expected = condition["field"], condition["op"], condition.get("value", "")
    if operator == "changed":
        return _has_changed(field, data)
    actual = resolve(field, data)
    if operator == "in":
        return bool(set(_as_list(actual)) & set(_as_list(expected))) if actual else False
    if operator == "contains":
        if isinstance(actual, list | tuple | set):
            return str(expected).strip().lower() in _as_list(actual)
        return str(expected).strip().lower() in str(actual or "").lower()
    same = (
        str(actual if actual is not None else "").strip().lower() == str(expected).strip().lower()
    )
    return same if operator == "equals" else not same


def is_group(item: Mapping[str, Any]) -> bool:
    return "conditions" in item


def holds(item: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    """A plain condition, or a group of them combined by its "match"."""
    if is_group(item):
        return match_holds(item.get("match", "all"), item["conditions"], data)
    return evaluate(item, data)


def match_holds(match: str, items: list[Mapping[str, Any]], data: Mapping[str, Any]) -> bool:
    """Every item holds ("all"), or at least one does ("any"). No items: nothing to check."""
    if not items:
        return True
    results = (holds(item, data) for item in items)
    return any(results) if match == "any" else all(results)


def definition_holds(definition: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    """Whether a workflow's conditions let it start. A definition saved before groups existed
    has no "conditions_match": all of its conditions must hold, as they had to then."""
    match = definition.get("conditions_match", "all")
    return match_holds(match, definition.get("conditions") or [], data)
