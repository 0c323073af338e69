"""Conditions with AND/OR groups: how they hold, how they read in words, what the validator
refuses, and the designer's fields and buttons for them."""

import pytest
from werkzeug.datastructures import MultiDict

from governance.engine.condition_words import condition_words, definition_words, field_words
from governance.engine.conditions import definition_holds, holds
from governance.engine.definition import DefinitionError, validate_definition
from governance.workflows import conditions_form, editor

IN_REVIEW = {"field": "policy.status", "op": "equals", "value": "in_review"}
SECURITY = {"field": "policy.category", "op": "equals", "value": "Security"}
PCI = {"field": "policy.tags", "op": "contains", "value": "pci"}
SECURITY_OR_PCI = {"match": "any", "conditions": [SECURITY, PCI]}
STATUS_LABELS = {"policy.status": {"in_review": "In review", "draft": "Draft"}}


def _data(status="in_review", category="Privacy", tags=("gdpr",)):
    return {"policy": {"status": status, "category": category, "tags": list(tags)}}


def _definition(conditions, match=None):
    definition = {"conditions": conditions}
    if match is not None:
        definition["conditions_match"] = match
    return definition


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_data(category="Security"), True),
        (_data(tags=["pci", "vendors"]), True),
        (_data(), False),  # neither Security nor pci
        (_data(status="draft", category="Security"), False),  # the status fails the AND
    ],
)
def test_a_group_of_any_inside_all_holds_as_the_sentence_says(data, expected):
    definition = _definition([IN_REVIEW, SECURITY_OR_PCI], "all")
    assert definition_holds(definition, data) is expected


def test_any_at_the_top_needs_one_item_and_a_group_of_all_needs_every_one():
    both = {"match": "all", "conditions": [SECURITY, PCI]}
    definition = _definition([{"field": "policy.status", "op": "equals", "value": "x"}, both])
    assert not definition_holds(definition | {"conditions_match": "any"}, _data("x" * 2))
    assert definition_holds(definition | {"conditions_match": "any"}, _data("x"))
    assert not holds(both, _data(category="Security"))
    assert holds(both, _data(category="Security", tags=["pci"]))


def test_a_definition_saved_before_groups_means_all_and_no_conditions_always_hold():
    assert not definition_holds({"conditions": [IN_REVIEW, SECURITY]}, _data())
    assert definition_holds({"conditions": [IN_REVIEW]}, _data())
    assert definition_holds({"conditions": []}, _data())
    assert definition_holds({"conditions": [], "conditions_match": "any"}, _data())


def test_conditions_read_as_one_sentence_with_labels_for_known_values():
    definition = _definition([IN_REVIEW, SECURITY_OR_PCI], "all")
    assert (
        definition_words(definition, STATUS_LABELS)
        == "status is in review AND (category is Security OR tags contain pci)"
    )
    assert (
        definition_words(_definition([SECURITY, PCI], "any"))
        == "category is Security OR tags contain pci"
    )
    assert definition_words({"conditions": [IN_REVIEW, SECURITY]}) == (
        "status is in_review AND category is Security"
    )
    assert definition_words({"conditions": []}) == ""


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ({"field": "policy.status", "op": "in", "value": "draft, in_review"}, None),
        ({"field": "policy.title", "op": "changed", "value": ""}, "title changed"),
        ({"field": "policy.category", "op": "not_equals", "value": "HR"}, "category is not HR"),
        ({"field": "policy.tags", "op": "in", "value": "a,b,c"}, "tags include one of a, b or c"),
        ({"field": "trigger.reason", "op": "contains", "value": "x"}, "trigger reason contains x"),
        (
            {"field": "steps.legal.output.decision", "op": "equals", "value": "approved"},
            "decision of step legal is approved",
        ),
    ],
)
def test_each_operator_has_its_words(condition, words):
    expected = words or "status is one of draft or in review"
    assert condition_words(condition, STATUS_LABELS) == expected


def test_a_group_of_one_condition_needs_no_brackets():
    one = {"match": "any", "conditions": [SECURITY]}
    assert definition_words(_definition([IN_REVIEW, one])) == (
        "status is in_review AND category is Security"
    )
    assert field_words("trigger.old_status") == "old status"


def _errors(raw_conditions, match="all") -> dict[str, str]:
    raw = {"trigger": {}, "conditions_match": match, "conditions": raw_conditions, "stages": []}
    with pytest.raises(DefinitionError) as refused:
        validate_definition(raw)
    return refused.value.errors


def test_the_validator_names_each_problem_of_a_group_by_its_path():
    errors = _errors(
        [
            IN_REVIEW,
            {"match": "any", "conditions": [{"field": "policy.secret", "op": "like"}, SECURITY]},
            {"match": "either", "conditions": []},
        ],
        match="most",
    )
    assert errors["conditions.1.conditions.0.field"].startswith("Unknown field “policy.secret”")
    assert errors["conditions.1.conditions.0.op"] == "Choose an operator."
    assert "conditions.1.conditions.1.field" not in errors
    assert errors["conditions.2.match"].startswith("Match “all”")
    assert errors["conditions.2.conditions"] == (
        "This group is empty: add a condition or remove the group."
    )
    assert errors["conditions_match"].startswith("Match “all”")


def test_a_group_inside_a_group_is_refused():
    errors = _errors([{"match": "any", "conditions": [SECURITY, SECURITY_OR_PCI]}])
    assert errors["conditions.0.conditions.1"] == (
        "A group holds plain conditions only: groups do not nest (one level is enough)."
    )


def test_the_designer_fields_of_groups_become_the_draft_and_back():
    form = MultiDict(
        [
            ("cond-match", "all"),
            ("cond-0-field", "policy.status"),
            ("cond-0-op", "equals"),
            ("cond-0-value", "in_review"),
            ("cond-1-match", "any"),
            ("cond-1-0-field", "policy.category"),
            ("cond-1-0-op", "equals"),
            ("cond-1-0-value", "Security"),
            ("cond-1-1-field", "policy.tags"),
            ("cond-1-1-op", "contains"),
            ("cond-1-1-value", "pci"),
        ]
    )
    draft = editor.parse(form, lambda step_type: frozenset())
    assert draft["conditions_match"] == "all"
    assert draft["conditions"] == [IN_REVIEW, SECURITY_OR_PCI]


def test_group_buttons_add_and_remove_conditions_and_groups():
    draft = editor.empty_definition()
    for op in ["add_condition", "add_group", "add_group_condition:1", "add_group"]:
        editor.apply(draft, op)
    assert [len(item.get("conditions", [None])) for item in draft["conditions"]] == [1, 2, 1]
    editor.apply(draft, "remove_group_condition:1:0")
    editor.apply(draft, "remove_condition:2")
    assert draft["conditions"] == [
        conditions_form.empty_condition(),
        {"match": "any", "conditions": [conditions_form.empty_condition()]},
    ]
    before = repr(draft)
    for forged in [
        "add_group_condition:0",  # a plain condition is not a group
        "add_group_condition:9",
        "remove_group_condition:1:5",
        "remove_group_condition:0:0",
        "remove_condition:7",
        "add_group_condition:x",
    ]:
        editor.apply(draft, forged)
    assert repr(draft) == before
