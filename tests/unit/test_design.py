"""The diagram designer's pure parts: ops in words, one step's place, error paths to field ids."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from governance.workflows import design
from governance.workflows.diagram import layout


def _definition() -> dict:
    def step(key: str) -> dict:
        return {"key": key, "type": "wait", "config": {"minutes": 1}, "when": None, "retry": {}}

    return {"conditions": [], "stages": [{"steps": [step("a"), step("b")]}, {"steps": [step("c")]}]}


@pytest.mark.parametrize(
    ("op", "words"),
    [
        ("move_stage_up:1", "moved stage 2 earlier"),
        ("remove_stage:0", "removed stage 1"),
        ("move_step_down:0:0", "moved step a down"),
        ("move_step_next_stage:0:1", "moved step b to stage 2"),
        ("move_step_prev_stage:1:0", "moved step c to stage 1"),
        ("remove_step:1:0", "removed step c"),
    ],
)
def test_a_diagram_op_is_told_in_words(op, words):
    assert design.describe_op(_definition(), op) == words


@pytest.mark.parametrize(
    "op",
    [
        "add_stage",
        "add_step:0",
        "add_condition",
        "remove_stage:2",
        "remove_step:0:2",
        "remove_step:0",
        "remove_stage:0:0",
        "remove_step:0:-1",
        "move_stage_up:x",
        "bogus:1",
    ],
)
def test_what_the_diagram_never_sends_has_no_words(op):
    assert design.describe_op(_definition(), op) is None


def test_a_step_moved_out_of_its_own_stage_takes_the_stage_with_it():
    moved = design.apply_op(_definition(), "move_step_prev_stage:1:0")
    assert [[s["key"] for s in stage["steps"]] for stage in moved["stages"]] == [["a", "b", "c"]]
    # A removal leaves the empty stage for the validator to name.
    removed = design.apply_op(_definition(), "remove_step:1:0")
    assert [len(stage["steps"]) for stage in removed["stages"]] == [2, 0]


def test_a_step_is_put_in_its_place_or_at_the_end_of_a_new_stage():
    definition = _definition()
    new = {"key": "d"}
    assert design.put_step(definition, new, 0, 1) == (0, 1)
    assert definition["stages"][0]["steps"][1] == new
    assert design.put_step(definition, {"key": "e"}, 2, None) == (2, 0)
    assert design.find_step(definition, "e") == (2, 0)
    assert design.find_step(definition, "b") is None


def test_the_panel_reads_exactly_one_step():
    one = MultiDict({"stage-1-step-0-key": "c", "stage-1-step-0-type": "wait"})
    assert design.parse_step(one, lambda kind: frozenset())["key"] == "c"
    two = MultiDict({"stage-0-step-0-key": "a", "stage-0-step-1-key": "b"})
    assert design.parse_step(two, lambda kind: frozenset()) is None
    assert design.parse_step(MultiDict(), lambda kind: frozenset()) is None


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("stages.0.steps.1.key", "stage-0-step-1-key"),
        ("stages.2.steps.0.config.users", "stage-2-step-0-cfg-users"),
        ("stages.0.steps.0.when.field", "stage-0-step-0-when-field"),
        ("stages.0.steps.0.retry.base_seconds", "stage-0-step-0-retry-base_seconds"),
        ("stages.1", None),
        ("trigger.type", None),
    ],
)
def test_an_error_path_names_the_field_it_belongs_to(path, field):
    assert design.field_id(path) == field


def test_the_designers_diagram_has_a_place_to_add_a_step_under_each_stage_and_a_stage():
    definition = _definition()
    plain, designing = layout(definition), layout(definition, with_add_slots=True)
    assert plain.add_slots == []
    slots = [(slot.stage, slot.new_stage) for slot in designing.add_slots]
    assert slots == [(1, False), (2, False), (3, True)]
    lowest = max(box.y for box in designing.boxes)
    assert all(slot.y + 30 <= designing.height for slot in designing.add_slots)
    assert designing.add_slots[0].y > lowest
    assert designing.width > plain.width
