"""The policy lifecycle table, without a database."""

import pytest

from governance.policies import lifecycle


def test_only_the_documented_transitions_exist():
    pairs = {(t.source, t.target) for t in lifecycle.TRANSITIONS}
    assert pairs == {
        ("draft", "in_review"),
        ("in_review", "draft"),
        ("in_review", "approved"),
        ("approved", "published"),
        ("published", "retired"),
        ("published", "draft"),
    }


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("draft", "published"),
        ("draft", "approved"),
        ("retired", "draft"),
        ("published", "in_review"),
    ],
)
def test_skipping_steps_is_not_a_transition(source, target):
    assert lifecycle.find_transition(source, target) is None


def test_retired_is_final():
    assert lifecycle.allowed_targets("retired") == []


def test_owner_submits_but_cannot_approve():
    submit = lifecycle.find_transition("draft", "in_review")
    approve = lifecycle.find_transition("in_review", "approved")
    owner = {"actor_roles": {"owner"}, "is_owner": True, "is_submitter": False}
    assert lifecycle.may_take(submit, **owner)
    assert not lifecycle.may_take(approve, **owner)


def test_submitter_cannot_approve_even_as_admin():
    approve = lifecycle.find_transition("in_review", "approved")
    assert not lifecycle.may_take(approve, actor_roles={"admin"}, is_owner=False, is_submitter=True)
    assert lifecycle.may_take(approve, actor_roles={"admin"}, is_owner=False, is_submitter=False)


def test_nobody_who_wrote_part_of_the_change_approves_it():
    approve = lifecycle.find_transition("in_review", "approved")
    admin = {"actor_roles": {"admin"}, "is_owner": False, "is_submitter": False}
    assert not lifecycle.may_take(approve, **admin, wrote_change=True)
    assert lifecycle.may_take(approve, **admin, wrote_change=False)


def test_only_moves_back_to_draft_stay_open_while_a_workflow_decides():
    open_moves = {(t.source, t.target) for t in lifecycle.TRANSITIONS if not t.gated}
    assert open_moves == {("in_review", "draft"), ("published", "draft")}


def test_retiring_and_requesting_changes_need_a_reason():
    assert lifecycle.find_transition("published", "retired").needs_reason
    assert lifecycle.find_transition("in_review", "draft").needs_reason
    assert not lifecycle.find_transition("draft", "in_review").needs_reason
