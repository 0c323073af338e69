"""The designer's form state: flat form fields <-> a draft definition, and the editing
operations (add, remove, move) its buttons ask for. Pure: no database, no Flask.

The designer is one HTML form. Every button submits it with an `op`; the server applies the
op to the draft and renders the form again (in place with htmx, as a page without
JavaScript). Only `op=save` validates and stores a new version.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol, overload

from governance.workflows import conditions_form

_STEP_FIELD = re.compile(r"^stage-(\d+)-step-(\d+)-(.+)$")
_STAGE_MARKER = re.compile(r"^stage-(\d+)-present$")
# A field of rows (HEADERS) sends cfg-<field>-<row>-<part>: its config is a list of dicts.
_ROW_FIELD = re.compile(r"^(\w+)-(\d{1,3})-(\w+)$")


class FormData(Protocol):
    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str) -> str: ...
    def getlist(self, key: str) -> list[str]: ...
    def __iter__(self): ...


def empty_step(key: str = "") -> dict[str, Any]:
    return {
        "key": key,
        "type": "",
        "config": {},
        "when": None,
        "retry": {"attempts": 5, "backoff": "exponential", "base_seconds": 10},
    }


def empty_definition() -> dict[str, Any]:
    # A new workflow starts with "one person decides at most one approval step" on.
    return {
        "trigger": {"type": "policy.status_changed", "from_status": "", "to_status": "in_review"},
        "one_step_per_person": True,
        "conditions_match": "all",
        "conditions": [],
        "stages": [{"steps": [empty_step("step_1")]}],
    }


def parse(form: FormData, multi_value_fields: Callable[[str], frozenset[str]]) -> dict[str, Any]:
    """Rebuild the draft definition from the designer's flat fields.

    `multi_value_fields(step_type)` names the config fields that carry several values.
    """
    trigger = {
        name: form.get(f"trigger-{name}", "") or ""
        for name in ("type", "from_status", "to_status", "cron")
    }
    steps: dict[tuple[int, int], dict[str, Any]] = {}
    stages: set[int] = set()
    for name in form:
        if match := _STAGE_MARKER.match(name):
            stages.add(int(match[1]))
        elif match := _STEP_FIELD.match(name):
            stage, position, rest = int(match[1]), int(match[2]), match[3]
            stages.add(stage)
            step = steps.setdefault((stage, position), empty_step())
            _set_step_field(step, rest, form, name)
    for (_, _), step in steps.items():
        multi = multi_value_fields(step["type"])
        prefix_values = step.pop("_multi_names", {})
        for field_name, form_name in prefix_values.items():
            if field_name in multi:
                step["config"][field_name] = form.getlist(form_name)
        for field_name, rows in step.pop("_rows", {}).items():
            # The form's spare rows come back empty: they are no rows at all.
            step["config"][field_name] = [
                rows[index]
                for index in sorted(rows)
                if any(value for part, value in rows[index].items() if part != "secret")
            ]
        if step["when"] is not None and not any(step["when"].values()):
            step["when"] = None
    stage_list = [
        {"steps": [steps[key] for key in sorted(k for k in steps if k[0] == stage)]}
        for stage in sorted(stages)
    ]
    return {
        "trigger": trigger,
        # A checkbox: sent when ticked, absent when not.
        "one_step_per_person": bool(form.get("one_step_per_person")),
        **conditions_form.parse(form),
        "stages": stage_list,
    }


def _set_step_field(step: dict[str, Any], rest: str, form: FormData, name: str) -> None:
    value = form.get(name, "")
    if rest in ("key", "type"):
        step[rest] = value.strip()
    elif rest.startswith("cfg-") and (row := _ROW_FIELD.match(rest[4:])):
        rows = step.setdefault("_rows", {}).setdefault(row[1], {})
        rows.setdefault(int(row[2]), {})[row[3]] = value
    elif rest.startswith("cfg-"):
        field_name = rest[4:]
        step["config"][field_name] = value
        step.setdefault("_multi_names", {})[field_name] = name
    elif rest.startswith("when-"):
        step["when"] = (step["when"] or {}) | {rest[5:]: value}
    elif rest.startswith("retry-"):
        step["retry"][rest[6:]] = value


# ---------------------------------------------------------------- editing operations


def next_key(definition: dict[str, Any]) -> str:
    """The first free step_N key: what a new step is called until it is named."""
    taken = {step["key"] for stage in definition["stages"] for step in stage["steps"]}
    number = 1
    while f"step_{number}" in taken:
        number += 1
    return f"step_{number}"


def _swap(items: list, index: int, other: int) -> None:
    if 0 <= index < len(items) and 0 <= other < len(items):
        items[index], items[other] = items[other], items[index]


def apply(definition: dict[str, Any], op: str) -> dict[str, Any]:
    """Apply one designer op ("add_step:0", "move_step_up:1:2", ...) to the draft, in place.

    Unknown or out-of-range ops change nothing: they come from a form anyone can forge.
    """
    name, *raw_args = op.split(":")
    try:
        args = [int(arg) for arg in raw_args]
    except ValueError:
        return definition
    if conditions_form.apply(definition, name, args):
        return definition
    stages = definition["stages"]

    def stage_steps(index: int) -> list | None:
        return stages[index]["steps"] if 0 <= index < len(stages) else None

    if name == "add_stage":
        stages.append({"steps": [empty_step(next_key(definition))]})
    elif name == "remove_stage" and len(args) == 1 and 0 <= args[0] < len(stages):
        stages.pop(args[0])
    elif name in ("move_stage_up", "move_stage_down") and len(args) == 1:
        _swap(stages, args[0], args[0] + (-1 if name.endswith("up") else 1))
    elif name == "add_step" and len(args) == 1 and (steps := stage_steps(args[0])) is not None:
        steps.append(empty_step(next_key(definition)))
    elif len(args) == 2 and (steps := stage_steps(args[0])) is not None:
        stage, position = args
        if not 0 <= position < len(steps):
            return definition
        if name == "remove_step":
            steps.pop(position)
        elif name in ("move_step_up", "move_step_down"):
            _swap(steps, position, position + (-1 if name.endswith("up") else 1))
        elif name in ("move_step_prev_stage", "move_step_next_stage"):
            target = stage + (-1 if name.endswith("prev_stage") else 1)
            if 0 <= target < len(stages):
                stages[target]["steps"].append(steps.pop(position))
    return definition
