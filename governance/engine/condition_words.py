"""A workflow's conditions as one sentence: "status is in review AND (category is Security OR
tags contain pci)". Pure: the caller hands in the labels of values it knows (statuses)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from governance.engine.conditions import is_group

ValueLabels = Mapping[str, Mapping[str, str]]  # field -> {value: label}

JOINERS = {"all": " AND ", "any": " OR "}
_FIELD_WORDS = {
    "trigger.old_status": "old status",
    "trigger.new_status": "new status",
    "policy.owner": "owner (email)",
}
# Fields holding several values read in the plural ("tags contain pci").
_PLURAL_FIELDS = frozenset({"policy.tags"})
_OPERATOR_WORDS = {
    "equals": ("is", "are"),
    "not_equals": ("is not", "are not"),
    "in": ("is one of", "include one of"),
    "contains": ("contains", "contain"),
    "changed": ("changed", "changed"),
}


def field_words(field: str) -> str:
    """The words for a field: "status" (policy.status), "trigger reason", "decision of step
    legal" (steps.legal.output.decision)."""
    if field in _FIELD_WORDS:
        return _FIELD_WORDS[field]
    root, _, rest = field.partition(".")
    if root == "policy" and rest:
        return rest.replace("_", " ")
    if root == "trigger" and rest:
        return f"trigger {rest}"
    parts = field.split(".")
    if root == "steps" and len(parts) >= 4 and parts[2] == "output":
        return f"{'.'.join(parts[3:])} of step {parts[1]}"
    return field


def _value_words(field: str, value: str, labels: ValueLabels) -> str:
    known = labels.get(field, {})
    return known[value].lower() if value in known else value or "“”"


def _either(words: list[str]) -> str:
    """The words joined as a person lists alternatives: a, b or c."""
    return " or ".join(filter(None, [", ".join(words[:-1]), *words[-1:]]))


def condition_words(condition: Mapping[str, Any], labels: ValueLabels | None = None) -> str:
    """One plain condition: "status is in review"."""
    labels = labels or {}
    field, operator = str(condition.get("field", "")), str(condition.get("op", ""))
    value = str(condition.get("value") or "").strip()
    singular, plural = _OPERATOR_WORDS.get(operator, (operator, operator))
    verb = plural if field in _PLURAL_FIELDS else singular
    subject = field_words(field)
    if operator == "changed":
        return f"{subject} {verb}"
    if operator == "in":
        values = [item.strip() for item in value.split(",") if item.strip()]
        either = _either([_value_words(field, v, labels) for v in values]) or "“”"
        return f"{subject} {verb} {either}"
    return f"{subject} {verb} {_value_words(field, value, labels)}"


def item_words(item: Mapping[str, Any], labels: ValueLabels | None = None) -> str:
    """A plain condition, or a group in brackets when it holds more than one."""
    if not is_group(item):
        return condition_words(item, labels)
    parts = [condition_words(condition, labels) for condition in item.get("conditions") or []]
    joined = JOINERS.get(str(item.get("match", "all")), JOINERS["all"]).join(parts)
    return f"({joined})" if len(parts) > 1 else joined


def conditions_words(
    conditions: list[Mapping[str, Any]], match: str = "all", labels: ValueLabels | None = None
) -> str:
    """The whole list as one sentence; "" when there are no conditions."""
    joiner = JOINERS.get(match, JOINERS["all"])
    return joiner.join(item_words(item, labels) for item in conditions)


def definition_words(definition: Mapping[str, Any], labels: ValueLabels | None = None) -> str:
    """A workflow's conditions in words (all must hold when it says nothing: versions saved
    before groups existed)."""
    return conditions_words(
        definition.get("conditions") or [], definition.get("conditions_match", "all"), labels
    )
