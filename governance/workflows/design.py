"""The diagram designer's editing of one step or stage at a time: the ops its buttons send, in
words; where one step sits in a definition; which field an error names. Pure: no database, no
Flask. (The whole-form designer's state is editor.py.)"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from governance.workflows.editor import FormData, apply, parse

# The ops the diagram's buttons send (apply's names), and what the saved message says they did.
DIAGRAM_OPS = {
    "move_stage_up": "moved stage {stage} earlier",
    "move_stage_down": "moved stage {stage} later",
    "remove_stage": "removed stage {stage}",
    "move_step_up": "moved step {key} up",
    "move_step_down": "moved step {key} down",
    "move_step_prev_stage": "moved step {key} to stage {previous}",
    "move_step_next_stage": "moved step {key} to stage {next}",
    "remove_step": "removed step {key}",
}


def describe_op(definition: dict[str, Any], op: str) -> str | None:
    """What a diagram op does to `definition` in words, or None when it is not one of
    DIAGRAM_OPS with arguments that name a stage (and a step) of it."""
    name, *raw_args = op.split(":")
    if name not in DIAGRAM_OPS or not all(arg.isdigit() for arg in raw_args):
        return None
    args = [int(arg) for arg in raw_args]
    stages = definition["stages"]
    wants_step = "step" in name
    if len(args) != (2 if wants_step else 1) or not 0 <= args[0] < len(stages):
        return None
    key = ""
    if wants_step:
        steps = stages[args[0]]["steps"]
        if not 0 <= args[1] < len(steps):
            return None
        key = steps[args[1]]["key"]
    stage = args[0] + 1
    return DIAGRAM_OPS[name].format(stage=stage, key=key, previous=stage - 1, next=stage + 1)


def apply_op(definition: dict[str, Any], op: str) -> dict[str, Any]:
    """editor.apply's op, in place; a step moved out of a stage of its own takes the stage
    with it (the stage left empty would not save). A removal leaves an empty stage to the
    validator, which says so."""
    apply(definition, op)
    if op.startswith(("move_step_prev_stage:", "move_step_next_stage:")):
        definition["stages"] = [stage for stage in definition["stages"] if stage["steps"]]
    return definition


def parse_step(
    form: FormData, multi_value_fields: Callable[[str], frozenset[str]]
) -> dict[str, Any] | None:
    """The one step a step panel sends (under the whole-form designer's field names), or None
    when the form holds no step or several."""
    steps = [step for stage in parse(form, multi_value_fields)["stages"] for step in stage["steps"]]
    return steps[0] if len(steps) == 1 else None


def find_step(definition: dict[str, Any], key: str) -> tuple[int, int] | None:
    """(stage, position) of the step `key`, or None."""
    for stage_index, stage in enumerate(definition["stages"]):
        for position, step in enumerate(stage["steps"]):
            if step["key"] == key:
                return stage_index, position
    return None


def put_step(
    definition: dict[str, Any], step: dict[str, Any], stage: int, position: int | None
) -> tuple[int, int]:
    """Put `step` at `position` of `stage` in place, replacing the step there; position None
    adds it at the end of the stage (stage == the number of stages: of a new last stage).
    Returns where it now is."""
    stages = definition["stages"]
    if stage == len(stages):
        stages.append({"steps": []})
    steps = stages[stage]["steps"]
    if position is None:
        steps.append(step)
        return stage, len(steps) - 1
    steps[position] = step
    return stage, position


_PATH = re.compile(r"^stages\.(\d+)\.steps\.(\d+)\.(.+)$")


def field_id(path: str) -> str | None:
    """The id of the designer field an error path names ("stages.0.steps.1.config.to" ->
    "stage-0-step-1-cfg-to"), or None when the path is not a step's field."""
    match = _PATH.match(path)
    if not match:
        return None
    rest = match[3]
    for source, target in (("config.", "cfg-"), ("when.", "when-"), ("retry.", "retry-")):
        if rest.startswith(source):
            rest = target + rest[len(source) :]
            break
    return f"stage-{match[1]}-step-{match[2]}-{rest}"
