"""The stages-and-steps diagram as layout numbers; templates/workflows/_diagram.html draws it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from governance.engine.steps import step_types

BOX_WIDTH, BOX_HEIGHT = 180, 54
COLUMN_GAP, ROW_GAP, MARGIN = 60, 16, 20


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    key: str
    label: str
    kind: str
    conditional: bool


@dataclass(frozen=True)
class Arrow:
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True)
class AddSlot:
    """The designer's "+" under a stage (a step for stage `stage`, from 1) or after the last
    one (a new stage)."""

    x: int
    y: int
    width: int
    stage: int
    new_stage: bool


@dataclass(frozen=True)
class Diagram:
    width: int
    height: int
    boxes: list[Box]
    arrows: list[Arrow]
    stage_labels: list[tuple[int, str]]
    add_slots: list[AddSlot] = field(default_factory=list)


ADD_HEIGHT, ADD_STAGE_WIDTH = 30, 120


def layout(definition: dict[str, Any], *, with_add_slots: bool = False) -> Diagram:
    """One column per stage (they run one after another), one row per step (in parallel);
    `with_add_slots`: room for the designer's "+ Add step" under each stage and "+ Add stage"
    after the last."""
    actions = step_types()
    boxes: list[Box] = []
    arrows: list[Arrow] = []
    labels: list[tuple[int, str]] = []
    stages = definition.get("stages") or []
    tallest = max((len(stage["steps"]) for stage in stages), default=1)
    height = MARGIN * 2 + 24 + tallest * (BOX_HEIGHT + ROW_GAP)
    middle = 24 + MARGIN + (tallest * (BOX_HEIGHT + ROW_GAP) - ROW_GAP) // 2
    previous_right: list[tuple[int, int]] = []
    bottoms: list[int] = []  # where each stage's column of steps ends
    for index, stage in enumerate(stages):
        x = MARGIN + index * (BOX_WIDTH + COLUMN_GAP)
        labels.append((x, f"Stage {index + 1}"))
        count = len(stage["steps"])
        top = middle - (count * (BOX_HEIGHT + ROW_GAP) - ROW_GAP) // 2
        bottoms.append(top + count * (BOX_HEIGHT + ROW_GAP) - ROW_GAP if count else middle)
        current: list[tuple[int, int]] = []
        for row, step in enumerate(stage["steps"]):
            y = top + row * (BOX_HEIGHT + ROW_GAP)
            action = actions.get(step["type"])
            boxes.append(
                Box(
                    x,
                    y,
                    step["key"],
                    action.label if action else step["type"],
                    step["type"],
                    bool(step.get("when")),
                )
            )
            current.append((x, y + BOX_HEIGHT // 2))
            arrows.extend(Arrow(px, py, x, y + BOX_HEIGHT // 2) for px, py in previous_right)
        previous_right = [(px + BOX_WIDTH, py) for px, py in current]
    width = MARGIN * 2 + max(1, len(stages)) * (BOX_WIDTH + COLUMN_GAP) - COLUMN_GAP
    if not with_add_slots:
        return Diagram(width, height, boxes, arrows, labels)
    slots = [
        AddSlot(
            MARGIN + index * (BOX_WIDTH + COLUMN_GAP),
            bottom + ROW_GAP // 2,
            BOX_WIDTH,
            index + 1,
            False,
        )
        for index, bottom in enumerate(bottoms)
    ]
    x = MARGIN + len(stages) * (BOX_WIDTH + COLUMN_GAP)
    slots.append(AddSlot(x, middle - ADD_HEIGHT // 2, ADD_STAGE_WIDTH, len(stages) + 1, True))
    return Diagram(x + ADD_STAGE_WIDTH + MARGIN, height + ADD_HEIGHT, boxes, arrows, labels, slots)
