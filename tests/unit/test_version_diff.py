"""The changes between two workflow versions in words (governance/workflows/version_diff.py):
no app, no database; the labels and names come in as plain values."""

from __future__ import annotations

import copy

from governance.workflows.version_diff import Labels, describe_changes

LABELS = Labels(
    step_types={"approval": "Approval", "set_status": "Set status", "notify": "Notify"},
    fields={("approval", "groups"): "Approver groups", ("approval", "due_hours"): "Due in (hours)"},
)


def _step(key: str, kind: str = "approval", **config) -> dict:
    return {"key": key, "type": kind, "config": config, "when": None, "retry": None}


def _definition(*stages: list[dict], **extra) -> dict:
    return {
        "trigger": {"type": "policy.status_changed", "from_status": "", "to_status": "in_review"},
        "one_step_per_person": True,
        "conditions": [],
        "stages": [{"steps": steps} for steps in stages],
    } | extra


BASE = _definition([_step("legal", groups=["Legal"], due_hours=48)])


def test_the_same_definition_has_no_changes():
    assert describe_changes(BASE, copy.deepcopy(BASE), LABELS) == []


def test_a_changed_list_of_groups_reads_from_old_to_new():
    new = _definition([_step("legal", groups=["Legal", "Security"], due_hours=48)])

    assert describe_changes(BASE, new, LABELS) == [
        "Step legal: approver groups changed from Legal to Legal, Security."
    ]


def test_a_stage_added_at_the_end_names_its_steps():
    new = _definition(
        [_step("legal", groups=["Legal"], due_hours=48)],
        [_step("publish", "set_status", status="published")],
    )

    assert describe_changes(BASE, new, LABELS) == ["Stage 2 added with step publish."]


def test_a_stage_inserted_in_the_middle_is_added_and_the_later_one_is_not_moved():
    old = _definition([_step("legal", groups=["Legal"])], [_step("tell", "notify", to_owner=True)])
    new = _definition(
        [_step("legal", groups=["Legal"])],
        [_step("security", groups=["Security"])],
        [_step("tell", "notify", to_owner=True)],
    )

    assert describe_changes(old, new, LABELS) == ["Stage 2 added with step security."]


def test_steps_added_removed_and_moved_between_stages():
    old = _definition(
        [_step("legal", groups=["Legal"]), _step("drop_me", "notify", to_owner=True)],
        [_step("approve", "set_status", status="approved")],
    )
    new = _definition(
        [_step("legal", groups=["Legal"]), _step("approve", "set_status", status="approved")],
        [_step("tell", "notify", to_owner=True), _step("keep", "notify", to_owner=True)],
    )
    # Stage 2 shares no step with the old stage 2 now: its old step moved, so it is "added".
    changes = describe_changes(old, new, LABELS)

    assert "Step approve moved from stage 2 to stage 1." in changes
    assert "Step drop_me (Notify) removed from stage 1." in changes
    assert "Stage 2 removed (its steps moved)." in changes
    assert "Stage 2 added with steps tell, keep." in changes


def test_trigger_conditions_and_separation_of_duties():
    new = copy.deepcopy(BASE) | {
        "trigger": {"type": "manual"},
        "one_step_per_person": False,
        "conditions": [{"field": "policy.category", "op": "equals", "value": "Security"}],
    }
    labels = Labels(trigger=lambda trigger: f"[{trigger['type']}]")

    assert describe_changes(BASE, new, labels) == [
        "Trigger changed from “[policy.status_changed]” to “[manual]”.",
        "Separation of duties turned off: one person may decide several approval steps.",
        "Condition added: policy.category equals Security.",
    ]


def test_a_removed_condition_a_step_condition_and_retries():
    old = copy.deepcopy(BASE) | {
        "conditions": [{"field": "policy.tags", "op": "contains", "value": "pci"}],
    }
    new = copy.deepcopy(BASE)
    step = new["stages"][0]["steps"][0]
    step["when"] = {"field": "trigger.reason", "op": "changed", "value": ""}
    step["retry"] = {"attempts": 3, "backoff": "fixed", "base_seconds": 1.5}

    assert describe_changes(old, new, LABELS) == [
        "Condition removed: policy.tags contains pci.",
        "Step legal: runs only if trigger.reason changed.",
        "Step legal: retries changed from the default to 3 attempts, fixed back-off from 1.5 s.",
    ]


def test_config_values_set_cleared_and_switched_use_the_field_labels_and_value_names():
    old = _definition([_step("legal", groups=[2], due_hours=48.0, decide_by_count=False)])
    new = _definition([_step("legal", groups=[], due_hours=24.0, decide_by_count=True, quorum=2)])
    names = {2: "Legal"}
    labels = Labels(
        fields=LABELS.fields,
        value=lambda _type, _name, value: (
            ", ".join(names.get(item, str(item)) for item in value)
            if isinstance(value, list)
            else str(value).removesuffix(".0")
        ),
    )

    assert describe_changes(old, new, labels) == [
        "Step legal: approver groups cleared (was Legal).",
        "Step legal: due in (hours) changed from 48 to 24.",
        "Step legal: decide by count turned on.",
        "Step legal: quorum set to 2.",
    ]


def test_a_changed_step_type_is_one_sentence_not_every_field():
    new = _definition([_step("legal", "notify", to_owner=True, subject="Hi")])

    assert describe_changes(BASE, new, LABELS) == [
        "Step legal: type changed from Approval to Notify."
    ]


def test_unknown_condition_shapes_are_still_described():
    new = copy.deepcopy(BASE) | {"conditions": [{"any": [{"field": "policy.status"}]}]}

    assert describe_changes(BASE, new) == [
        'Condition added: {"any": [{"field": "policy.status"}]}.'
    ]
