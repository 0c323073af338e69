"""/api/v1/workflows with AND/OR condition groups: created, read back and saved back unchanged;
a bad group is refused at its path, a nested group with a message saying why."""

from __future__ import annotations

import pytest

from tests.api.test_api_workflow_round_trip import _round_trip
from tests.api.test_api_workflows import _body, _details, _error, _state

GROUPED = [
    {"field": "policy.status", "op": "equals", "value": "in_review"},
    {
        "match": "any",
        "conditions": [
            {"field": "policy.category", "op": "equals", "value": "Security"},
            {"field": "policy.tags", "op": "contains", "value": "pci"},
        ],
    },
]


def test_a_workflow_with_groups_round_trips_and_its_answer_has_them(api_as, users, db):
    client = api_as("admin")
    created = client.post("workflows", json=_body(conditions_match="any", conditions=GROUPED))
    assert created.status_code == 201, created.json
    definition = created.json["definition"]
    assert definition["conditions_match"] == "any"
    assert definition["conditions"] == GROUPED

    _round_trip(client, db, created.json["id"])


def test_a_body_without_conditions_match_means_all(api_as, users, db):
    created = api_as("admin").post("workflows", json=_body(conditions=GROUPED[:1]))
    assert created.status_code == 201, created.json
    assert created.json["definition"]["conditions_match"] == "all"


@pytest.mark.parametrize(
    ("definition", "field", "message"),
    [
        (
            {"conditions": [GROUPED[0], {"match": "any", "conditions": []}]},
            "definition.conditions.1.conditions",
            "This group is empty: add a condition or remove the group.",
        ),
        (
            {"conditions": [{"match": "any", "conditions": [{"field": "x.y", "op": "equals"}]}]},
            "definition.conditions.0.conditions.0.field",
            "Unknown field “x.y”",
        ),
        (
            {"conditions_match": "most", "conditions": GROUPED},
            "definition.conditions_match",
            "Match “all” (every condition must hold) or “any” (one is enough).",
        ),
    ],
)
def test_a_bad_group_is_refused_at_its_path(api_as, users, db, definition, field, message):
    before = _state(db)
    response = api_as("admin").post("workflows", json=_body(**definition))
    _error(response, 422)
    details = _details(response)
    assert message in details[field]["message"]
    if field.endswith("match"):
        assert details[field]["allowed"] == ["all", "any"]
    assert _state(db) == before


def test_a_group_inside_a_group_is_refused_saying_groups_do_not_nest(api_as, users, db):
    before = _state(db)
    nested = {"match": "all", "conditions": [GROUPED[1]]}
    response = api_as("admin").post("workflows", json=_body(conditions=[nested]))
    _error(response, 422)
    messages = [detail["message"] for detail in response.json["error"]["details"]]
    assert any("groups do not nest" in message for message in messages), messages
    assert _state(db) == before
