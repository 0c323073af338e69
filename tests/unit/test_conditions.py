"""Conditions over policy, trigger data and step outputs."""

import pytest

from governance.engine.conditions import evaluate, is_known_field, match_holds

DATA = {
    "policy": {
        "status": "in_review",
        "category": "Security",
        "tags": ["gdpr", "vendors"],
        "title": "Vendor Risk",
        "owner": "olivia@example.org",
    },
    "trigger": {"old_status": "draft", "new_status": "in_review", "changed": ["body"]},
    "steps": {"legal": {"output": {"decision": "approved"}}},
}


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("policy.category", "equals", "security", True),
        ("policy.category", "equals", "Privacy", False),
        ("policy.category", "not_equals", "Privacy", True),
        ("policy.status", "in", "draft, in_review", True),
        ("policy.status", "in", "draft, published", False),
        ("policy.tags", "contains", "GDPR", True),
        ("policy.tags", "contains", "gd", False),
        ("policy.title", "contains", "risk", True),
        ("policy.tags", "in", "hr, vendors", True),
        ("trigger.old_status", "equals", "draft", True),
        ("steps.legal.output.decision", "equals", "approved", True),
        ("steps.missing.output.decision", "equals", "approved", False),
        ("policy.status", "changed", "", True),
        ("policy.body", "changed", "", True),
        ("policy.title", "changed", "", False),
    ],
)
def test_operators(field, op, value, expected):
    assert evaluate({"field": field, "op": op, "value": value}, DATA) is expected


def test_all_conditions_must_hold():
    hold = {"field": "policy.category", "op": "equals", "value": "Security"}
    fail = {"field": "policy.status", "op": "equals", "value": "published"}
    assert match_holds("all", [hold], DATA)
    assert not match_holds("all", [hold, fail], DATA)
    assert match_holds("all", [], DATA)


@pytest.mark.parametrize(
    ("field", "known"),
    [
        ("policy.status", True),
        ("trigger.reason", True),
        ("steps.a.output.b", True),
        ("policy.secret", False),
        ("steps.a.b", False),
        ("os.environ", False),
        ("", False),
    ],
)
def test_only_known_fields_are_accepted(field, known):
    assert is_known_field(field) is known
