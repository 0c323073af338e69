"""What changed between two versions of a workflow, in words ("Step legal: approver groups
changed from Legal to Legal, Security"). Pure: the caller passes the labels and how to show a
value (names for ids), so this module reads no database and no registry.

Steps are matched by key (unique in a workflow), stages by the steps they share: a stage
inserted between two others reads as added, not as every later stage changed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


def _plain(value: Any) -> str:
    if value in (None, "", []):
        return "empty"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ", ".join(_plain(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def _plain_trigger(trigger: dict[str, Any]) -> str:
    settings = ", ".join(f"{k} {v}" for k, v in sorted(trigger.items()) if k != "type" and v)
    return f"{trigger.get('type') or '?'}" + (f" ({settings})" if settings else "")


@dataclass(frozen=True)
class Labels:
    """How to name things: the trigger in a line, a step type's label, a config field's
    label, and a config value in words (a group id as its name)."""

    trigger: Callable[[dict[str, Any]], str] = _plain_trigger
    step_types: Mapping[str, str] = field(default_factory=dict)
    # (step type, field name) -> label, e.g. ("approval", "groups") -> "Approver groups"
    fields: Mapping[tuple[str, str], str] = field(default_factory=dict)
    # (step type, field name, value) -> text, e.g. ("approval", "groups", [2]) -> "Legal"
    value: Callable[[str, str, Any], str] = lambda _type, _name, value: _plain(value)

    def step_type(self, name: str) -> str:
        return self.step_types.get(name, name or "no type")

    def field_label(self, step_type: str, name: str) -> str:
        label = self.fields.get((step_type, name)) or name.replace("_", " ")
        return label[:1].lower() + label[1:]


def condition_text(condition: Any) -> str:
    """A condition in a line: "policy.category equals Security"."""
    if isinstance(condition, Mapping) and {"field", "op"} <= set(condition):
        words = [str(condition["field"]), str(condition["op"]).replace("_", " ")]
        if condition.get("value") not in (None, ""):
            words.append(str(condition["value"]))
        return " ".join(words)
    return _plain(condition)


def _retry_text(retry: Mapping[str, Any] | None) -> str:
    if not retry:
        return "the default"
    return (
        f"{retry.get('attempts', '?')} attempts, {retry.get('backoff', '?')} back-off from "
        f"{_plain(retry.get('base_seconds', '?'))} s"
    )


def _is_empty(value: Any) -> bool:
    return value in (None, "", [], False)


@dataclass(frozen=True)
class _Placed:
    stage: int  # 0-based
    step: dict[str, Any]


def _placed_steps(definition: Mapping[str, Any]) -> dict[str, _Placed]:
    return {
        str(step.get("key")): _Placed(index, step)
        for index, stage in enumerate(definition.get("stages") or [])
        for step in stage.get("steps") or []
    }


def _stage_keys(definition: Mapping[str, Any]) -> list[frozenset[str]]:
    return [
        frozenset(str(step.get("key")) for step in stage.get("steps") or [])
        for stage in definition.get("stages") or []
    ]


def _match_stages(old: list[frozenset[str]], new: list[frozenset[str]]) -> dict[int, int]:
    """old stage index -> new stage index, in order, for stages that share a step (the longest
    such pairing)."""
    rows, columns = len(old), len(new)
    best = [[0] * (columns + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(columns - 1, -1, -1):
            shared = 1 if old[i] & new[j] else 0
            best[i][j] = max(
                best[i + 1][j], best[i][j + 1], best[i + 1][j + 1] + shared if shared else 0
            )
    pairs: dict[int, int] = {}
    i = j = 0
    while i < rows and j < columns:
        if old[i] & new[j] and best[i][j] == best[i + 1][j + 1] + 1:
            pairs[i] = j
            i, j = i + 1, j + 1
        elif best[i + 1][j] >= best[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def _keys_text(keys: list[str]) -> str:
    return ("step " if len(keys) == 1 else "steps ") + ", ".join(keys)


def _step_changes(key: str, old: dict[str, Any], new: dict[str, Any], labels: Labels) -> list[str]:
    old_type, new_type = str(old.get("type") or ""), str(new.get("type") or "")
    if old_type != new_type:
        return [
            f"Step {key}: type changed from {labels.step_type(old_type)} to "
            f"{labels.step_type(new_type)}."
        ]
    changes = []
    old_config, new_config = old.get("config") or {}, new.get("config") or {}
    for name in [*old_config, *(name for name in new_config if name not in old_config)]:
        before, after = old_config.get(name), new_config.get(name)
        if before == after or (_is_empty(before) and _is_empty(after)):
            continue
        label = labels.field_label(new_type, name)
        if isinstance(after, bool) or isinstance(before, bool):
            changes.append(f"Step {key}: {label} turned {'on' if after else 'off'}.")
        elif _is_empty(before):
            changes.append(f"Step {key}: {label} set to {labels.value(new_type, name, after)}.")
        elif _is_empty(after):
            changes.append(
                f"Step {key}: {label} cleared (was {labels.value(new_type, name, before)})."
            )
        else:
            changes.append(
                f"Step {key}: {label} changed from {labels.value(new_type, name, before)} to "
                f"{labels.value(new_type, name, after)}."
            )
    before_when, after_when = old.get("when"), new.get("when")
    if before_when != after_when:
        if not before_when:
            changes.append(f"Step {key}: runs only if {condition_text(after_when)}.")
        elif not after_when:
            changes.append(f"Step {key}: condition removed (was {condition_text(before_when)}).")
        else:
            changes.append(
                f"Step {key}: condition changed from {condition_text(before_when)} to "
                f"{condition_text(after_when)}."
            )
    if (old.get("retry") or {}) != (new.get("retry") or {}):
        changes.append(
            f"Step {key}: retries changed from {_retry_text(old.get('retry'))} to "
            f"{_retry_text(new.get('retry'))}."
        )
    return changes


def describe_changes(
    old: Mapping[str, Any], new: Mapping[str, Any], labels: Labels | None = None
) -> list[str]:
    """Each change from `old` to `new` as a sentence, in reading order: trigger, settings,
    conditions, stages, then steps. Empty when the two are the same."""
    labels = labels or Labels()
    changes: list[str] = []
    old_trigger, new_trigger = dict(old.get("trigger") or {}), dict(new.get("trigger") or {})
    if old_trigger != new_trigger:
        changes.append(
            f"Trigger changed from “{labels.trigger(old_trigger)}” to "
            f"“{labels.trigger(new_trigger)}”."
        )
    if bool(old.get("one_step_per_person")) != bool(new.get("one_step_per_person")):
        changes.append(
            "Separation of duties turned on: one person decides at most one approval step."
            if new.get("one_step_per_person")
            else "Separation of duties turned off: one person may decide several approval steps."
        )
    changes.extend(_condition_changes(old, new))
    changes.extend(_stage_and_step_changes(old, new, labels))
    return changes


def _condition_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    before = Counter(condition_text(item) for item in old.get("conditions") or [])
    after = Counter(condition_text(item) for item in new.get("conditions") or [])
    return [f"Condition removed: {text}." for text in (before - after).elements()] + [
        f"Condition added: {text}." for text in (after - before).elements()
    ]


def _stage_and_step_changes(
    old: Mapping[str, Any], new: Mapping[str, Any], labels: Labels
) -> list[str]:
    old_stages, new_stages = _stage_keys(old), _stage_keys(new)
    pairs = _match_stages(old_stages, new_stages)
    matched_new = set(pairs.values())
    old_steps, new_steps = _placed_steps(old), _placed_steps(new)
    changes: list[str] = []
    for index in range(len(old_stages)):
        if index not in pairs:
            gone = [key for key in _ordered(old, index) if key not in new_steps]
            changes.append(
                f"Stage {index + 1} removed"
                + (f" with {_keys_text(gone)}." if gone else " (its steps moved).")
            )
    for index in range(len(new_stages)):
        if index not in matched_new:
            added = [key for key in _ordered(new, index) if key not in old_steps]
            changes.append(
                f"Stage {index + 1} added"
                + (f" with {_keys_text(added)}." if added else " (with steps moved into it).")
            )
    new_stage_of_old = pairs
    for key, placed in new_steps.items():
        type_label = labels.step_type(str(placed.step.get("type") or ""))
        if key not in old_steps:
            if placed.stage in matched_new:
                changes.append(f"Step {key} ({type_label}) added to stage {placed.stage + 1}.")
            continue
        before = old_steps[key]
        if new_stage_of_old.get(before.stage) != placed.stage:
            changes.append(
                f"Step {key} moved from stage {before.stage + 1} to stage {placed.stage + 1}."
            )
    for key, placed in old_steps.items():
        if key not in new_steps and placed.stage in pairs:
            type_label = labels.step_type(str(placed.step.get("type") or ""))
            changes.append(f"Step {key} ({type_label}) removed from stage {placed.stage + 1}.")
    for key, placed in new_steps.items():
        if key in old_steps:
            changes.extend(_step_changes(key, old_steps[key].step, placed.step, labels))
    return changes


def _ordered(definition: Mapping[str, Any], stage: int) -> list[str]:
    return [str(step.get("key")) for step in definition["stages"][stage].get("steps") or []]
