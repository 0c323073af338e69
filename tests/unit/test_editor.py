"""The designer's form state: flat fields to a draft, and its add/remove/move operations."""

from werkzeug.datastructures import MultiDict

from governance.workflows import editor


def _multi(step_type: str) -> frozenset[str]:
    return frozenset({"users", "groups"}) if step_type == "approval" else frozenset()


def test_flat_fields_become_a_nested_draft():
    form = MultiDict(
        [
            ("trigger-type", "policy.status_changed"),
            ("trigger-to_status", "in_review"),
            ("cond-0-field", "policy.category"),
            ("cond-0-op", "equals"),
            ("cond-0-value", "Security"),
            ("stage-0-present", "1"),
            ("stage-0-step-0-key", "legal"),
            ("stage-0-step-0-type", "approval"),
            ("stage-0-step-0-cfg-groups", "1"),
            ("stage-0-step-0-cfg-groups", "2"),
            ("stage-0-step-0-cfg-rule", "all"),
            ("stage-0-step-0-retry-attempts", "3"),
            ("stage-1-present", "1"),
            ("stage-1-step-0-key", "done"),
            ("stage-1-step-0-type", "set_status"),
            ("stage-1-step-0-cfg-status", "approved"),
            ("stage-1-step-0-when-field", "steps.legal.output.decision"),
            ("stage-1-step-0-when-op", "equals"),
            ("stage-1-step-0-when-value", "approved"),
            ("stage-2-present", "1"),
        ]
    )
    draft = editor.parse(form, _multi)
    assert draft["trigger"]["to_status"] == "in_review"
    assert draft["conditions"] == [
        {"field": "policy.category", "op": "equals", "value": "Security"}
    ]
    legal = draft["stages"][0]["steps"][0]
    assert legal["config"] == {"groups": ["1", "2"], "rule": "all"}
    assert legal["retry"]["attempts"] == "3" and legal["when"] is None
    assert draft["stages"][1]["steps"][0]["when"]["value"] == "approved"
    assert draft["stages"][2] == {"steps": []}  # an emptied stage stays, to be reported


def test_operations_add_remove_and_move():
    draft = editor.empty_definition()
    editor.apply(draft, "add_step:0")
    editor.apply(draft, "add_stage")
    assert [[s["key"] for s in stage["steps"]] for stage in draft["stages"]] == [
        ["step_1", "step_2"],
        ["step_3"],
    ]
    editor.apply(draft, "move_step_down:0:0")
    editor.apply(draft, "move_step_next_stage:0:1")
    assert [[s["key"] for s in stage["steps"]] for stage in draft["stages"]] == [
        ["step_2"],
        ["step_3", "step_1"],
    ]
    editor.apply(draft, "move_stage_up:1")
    editor.apply(draft, "remove_step:1:0")
    assert [[s["key"] for s in stage["steps"]] for stage in draft["stages"]] == [
        ["step_3", "step_1"],
        [],
    ]
    editor.apply(draft, "add_condition")
    editor.apply(draft, "remove_condition:0")
    assert draft["conditions"] == []


def test_forged_or_out_of_range_operations_change_nothing():
    draft = editor.empty_definition()
    before = repr(draft)
    for op in [
        "remove_step:5:0",
        "remove_stage:9",
        "move_step_up:0:7",
        "explode",
        "add_step:x",
        "move_step_next_stage:0:0",
        "remove_condition:3",
    ]:
        editor.apply(draft, op)
    assert repr(draft) == before


def test_a_new_workflow_starts_with_one_step_per_person_and_the_checkbox_decides_it():
    assert editor.empty_definition()["one_step_per_person"] is True
    fields = {
        "trigger-type": "manual",
        "stage-0-step-0-key": "a",
        "stage-0-step-0-type": "approval",
    }
    assert editor.parse(MultiDict(fields), lambda _: frozenset())["one_step_per_person"] is False
    ticked = MultiDict(fields | {"one_step_per_person": "1"})
    assert editor.parse(ticked, lambda _: frozenset())["one_step_per_person"] is True
