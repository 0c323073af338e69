"""Approval integrity: one person counts once per step whatever groups and delegations they
hold; nobody who wrote part of a change decides on it; a review workflow still deciding a
policy holds the lifecycle's manual forward moves. Through the services and through HTTP."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from governance.approvals import delegation
from governance.approvals import service as approvals
from governance.approvals.models import ApprovalRequest
from governance.audit.models import AuditEvent
from governance.engine import operate
from governance.engine.models import Execution, StepRun
from governance.errors import Conflict, DomainError, NotAllowed
from governance.policies import service as policies
from governance.unit_of_work import unit_of_work
from tests import factories
from tests.factories import (
    approval_requests,
    edit_policy,
    make_policy,
    make_workflow,
    run_queued_steps,
    step,
    submit_for_review,
)

SUBMITTED = {"type": "policy.status_changed", "to_status": "in_review"}


def _groups(users):
    return users["approver"].groups[0], users["security"].groups[0]  # Legal, Security


def _priya(users):
    """An approver in both Legal and Security, as in the demo."""
    return factories.make_user(
        "approver", email="priya@example.test", name="Priya", groups=list(_groups(users))
    )


def _review(users, config: dict, *, then_approve: bool = False):
    stages = [[step("review", "approval", {"rule": "any"} | config)]]
    if then_approve:
        stages.append([step("approve", "set_status", {"status": "approved"})])
    return make_workflow(users["admin"], trigger=SUBMITTED, stages=stages)


def _request(db, *, user=None, group=None) -> ApprovalRequest:
    return next(
        r
        for r in approval_requests(db)
        if (user is not None and r.assignee_user_id == user.id)
        or (group is not None and r.assignee_group_id == group.id)
    )


def _step_status(db) -> str:
    db.session.expire_all()
    return db.session.scalar(sa.select(StepRun.status).where(StepRun.step_key == "review"))


def _decide(client, request_id, decision="approved", comment="", htmx=False):
    return client.submit(
        f"/approvals/{request_id}/decide",
        {"decision": decision, "comment": comment, "origin": "inbox"},
        token_from="/approvals",
        headers={"HX-Request": "true"} if htmx else {},
    )


def _approval_events(db) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action.in_(("approval.approved", "approval.rejected")))
    )


# ------------------------------------------------------------------ once per person per step


def test_a_person_in_two_groups_fills_one_slot_of_an_every_assignee_step(db, users):
    legal, security = _groups(users)
    priya = _priya(users)
    _review(users, {"groups": [legal.id, security.id], "rule": "all"})
    submit_for_review(users)
    approvals.record_decision(_request(db, group=legal).id, user=priya, decision="approved")
    with pytest.raises(Conflict, match="already decided this step"):
        approvals.record_decision(_request(db, group=security).id, user=priya, decision="approved")
    db.session.rollback()
    assert _request(db, group=security).status == "pending"
    assert _step_status(db) == "waiting"
    # Security's other member completes it: two different people for two assignees.
    approvals.record_decision(
        _request(db, group=security).id, user=users["security"], decision="approved"
    )
    assert _step_status(db) == "succeeded"
    output = db.session.scalar(sa.select(StepRun.output).where(StepRun.step_key == "review"))
    assert sorted(output["approved_by"]) == sorted([priya.id, users["security"].id])


def test_a_quorum_of_two_needs_two_people_and_a_delegation_cannot_add_a_second_vote(db, users):
    legal, security = _groups(users)
    priya = _priya(users)
    _review(users, {"groups": [legal.id, security.id], "rule": "quorum", "quorum": 2})
    submit_for_review(users)
    approvals.record_decision(_request(db, group=security).id, user=priya, decision="approved")
    # Lena (Legal) hands Legal's request to Priya, who already voted on Security's.
    with pytest.raises(DomainError, match="already has a say in this step"):
        delegation.delegate(
            _request(db, group=legal).id,
            actor=users["approver"],
            to_user_id=priya.id,
            reason="Priya knows this one",
        )
    db.session.rollback()
    with pytest.raises(Conflict, match="already decided this step"):
        approvals.record_decision(_request(db, group=legal).id, user=priya, decision="approved")
    db.session.rollback()
    assert _step_status(db) == "waiting"
    assert _request(db, group=legal).assignee_group_id == legal.id


def test_a_slot_delegated_before_joining_a_group_still_counts_once(db, users):
    """The decision itself checks every request of the step, whichever way the person got it."""
    legal, security = _groups(users)
    priya = factories.make_user("approver", email="priya@example.test")
    _review(users, {"groups": [legal.id, security.id], "rule": "quorum", "quorum": 2})
    submit_for_review(users)
    delegation.delegate(
        _request(db, group=security).id,
        actor=users["security"],
        to_user_id=priya.id,
        reason="On leave",
    )
    priya.groups.append(legal)  # she joins Legal afterwards
    db.session.commit()
    approvals.record_decision(_request(db, user=priya).id, user=priya, decision="approved")
    with pytest.raises(Conflict, match="already decided this step"):
        approvals.record_decision(_request(db, group=legal).id, user=priya, decision="approved")
    db.session.rollback()
    assert _step_status(db) == "waiting"
    approvals.record_decision(
        _request(db, group=legal).id, user=users["approver"], decision="approved"
    )
    assert _step_status(db) == "succeeded"


def test_a_delegate_who_is_already_an_assignee_of_the_step_is_refused(db, users):
    legal, _ = _groups(users)
    _review(users, {"groups": [legal.id], "users": [users["security"].id], "rule": "all"})
    submit_for_review(users)
    with pytest.raises(DomainError, match="already has a say"):
        delegation.delegate(
            _request(db, group=legal).id,
            actor=users["approver"],
            to_user_id=users["security"].id,
            reason="Let Sam do both",
        )
    db.session.rollback()
    assert _request(db, group=legal).assignee_group_id == legal.id


def test_someone_asked_by_name_decides_their_own_request_not_their_groups(db, users):
    legal, _ = _groups(users)
    priya = _priya(users)
    _review(users, {"users": [priya.id], "groups": [legal.id], "rule": "all"})
    submit_for_review(users)
    with pytest.raises(Conflict, match="asked by name"):
        approvals.record_decision(_request(db, group=legal).id, user=priya, decision="approved")
    db.session.rollback()
    approvals.record_decision(_request(db, user=priya).id, user=priya, decision="approved")
    assert _step_status(db) == "waiting"  # Legal's request is Lena's now
    approvals.record_decision(
        _request(db, group=legal).id, user=users["approver"], decision="approved"
    )
    assert _step_status(db) == "succeeded"


def test_every_assignee_completes_when_the_only_remaining_one_already_decided(db, users):
    solo = factories.make_group("Solo")
    priya = _priya(users)
    priya.groups.append(solo)
    db.session.commit()
    _review(users, {"users": [priya.id], "groups": [solo.id], "rule": "all"})
    submit_for_review(users)
    state = approvals.record_decision(_request(db, user=priya).id, user=priya, decision="approved")
    assert state == "approved"
    assert _step_status(db) == "succeeded"
    assert _request(db, group=solo).status == "cancelled"  # covered by her decision
    assert _approval_events(db) == 1


def test_a_quorum_is_not_lowered_when_fewer_people_can_decide(db, users):
    first, second = factories.make_group("Only Priya 1"), factories.make_group("Only Priya 2")
    priya = factories.make_user("approver", email="priya@example.test", groups=[first, second])
    _review(users, {"groups": [first.id, second.id], "rule": "quorum", "quorum": 2})
    submit_for_review(users)
    state = approvals.record_decision(_request(db, group=first).id, user=priya, decision="approved")
    assert state == "waiting"
    with pytest.raises(Conflict, match="already decided this step"):
        approvals.record_decision(_request(db, group=second).id, user=priya, decision="approved")
    db.session.rollback()
    assert _step_status(db) == "waiting"


def test_the_inbox_tells_priya_she_already_decided_and_offers_no_buttons(as_role, login, db, users):
    legal, security = _groups(users)
    priya = _priya(users)
    _review(users, {"groups": [legal.id, security.id], "rule": "all"})
    submit_for_review(users)
    legal_request, security_request = _request(db, group=legal), _request(db, group=security)
    client = login(priya)
    assert _decide(client, legal_request.id, htmx=True).status_code == 200
    html = client.get("/approvals").get_data(as_text=True)
    assert f'id="request-{security_request.id}"' in html
    assert "You already decided this step" in html
    assert f"/approvals/{security_request.id}/decide" not in html
    assert f'value="{security_request.id}"' not in html  # no bulk checkbox either
    assert f"/approvals/{security_request.id}/delegate" in html  # she may hand it on
    # A forged post, and the bulk form, are refused with the same reason.
    response = _decide(client, security_request.id, htmx=True)
    assert response.status_code == 409
    assert "already decided this step" in response.get_data(as_text=True)
    response = client.submit(
        "/approvals/bulk",
        {"request_ids": [security_request.id], "comment": ""},
        token_from="/approvals",
    )
    assert "already decided this step" in client.get("/approvals").get_data(as_text=True)
    assert _request(db, group=security).status == "pending"
    assert _approval_events(db) == 1
    # Sam, the other Security member, still sees the buttons.
    sam_html = as_role("security").get("/approvals").get_data(as_text=True)
    assert f"/approvals/{security_request.id}/decide" in sam_html


# ------------------------------------------------------------------ four-eyes over authors


def _admin_rewrites_and_owner_submits(users, *, workflow: dict | None = None):
    if workflow is not None:
        _review(users, workflow)
    return submit_for_review(users, edited_by=users["admin"])


def test_an_admin_who_rewrote_the_draft_cannot_approve_it_in_a_workflow(as_role, db, users):
    legal, _ = _groups(users)
    users["admin"].groups.append(legal)
    db.session.commit()
    _admin_rewrites_and_owner_submits(users, workflow={"groups": [legal.id]})
    request = approval_requests(db)[0]
    client = as_role("admin")
    html = client.get("/approvals").get_data(as_text=True)
    assert "You wrote part of this change" in html
    assert f"/approvals/{request.id}/decide" not in html
    response = _decide(client, request.id, htmx=True)
    assert response.status_code == 403
    assert "wrote part of this change" in response.get_data(as_text=True)
    assert approval_requests(db)[0].status == "pending"
    # Lena, who wrote nothing, decides it.
    approvals.record_decision(request.id, user=users["approver"], decision="approved")
    assert approval_requests(db)[0].status == "approved"


def test_the_author_admin_is_neither_offered_nor_accepted_as_a_delegate(as_role, db, users):
    _admin_rewrites_and_owner_submits(users, workflow={"users": [users["approver"].id]})
    request = approval_requests(db)[0]
    client = as_role("approver")
    page = client.get(f"/approvals/{request.id}/delegate").get_data(as_text=True)
    assert f'value="{users["admin"].id}"' not in page
    with pytest.raises(DomainError, match="wrote part of this change"):
        delegation.delegate(
            request.id, actor=users["approver"], to_user_id=users["admin"].id, reason="Over to you"
        )
    db.session.rollback()
    assert approval_requests(db)[0].assignee_user_id == users["approver"].id


def test_an_admin_who_rewrote_the_draft_cannot_take_the_manual_approve(as_role, db, users):
    policy = _admin_rewrites_and_owner_submits(users)
    client = as_role("admin")
    page = client.get(f"/policies/{policy.id}").get_data(as_text=True)
    assert 'name="target" value="approved"' not in page
    response = client.submit(
        f"/policies/{policy.id}/transition",
        {"target": "approved", "version": policies.get_policy(policy.id).version},
        token_from=f"/policies/{policy.id}",
    )
    assert response.status_code == 403
    assert "wrote part of this change" in response.get_data(as_text=True)
    db.session.expire_all()
    assert policies.get_policy(policy.id).status == "in_review"
    # Another admin, who wrote nothing, may.
    other_admin = factories.make_user("admin", email="admin2@example.test")
    policies.transition_policy(policy.id, "approved", actor=other_admin)
    assert policies.get_policy(policy.id).status == "approved"
    # The next change is the owner's alone: the admin's edit belongs to version 1.0.
    owner = users["owner"]
    policies.transition_policy(policy.id, "published", actor=owner)
    policies.transition_policy(policy.id, "draft", actor=owner)
    edit_policy(policy.id, owner, body="Version 2 by the owner.\n")
    policies.transition_policy(policy.id, "in_review", actor=owner)
    policies.transition_policy(policy.id, "approved", actor=users["admin"])
    assert policies.get_policy(policy.id).status == "approved"


# ------------------------------------------------------------------ the review gate


def _waiting_review(db, users):
    _review(users, {"users": [users["approver"].id]}, then_approve=True)
    policy = submit_for_review(users)
    execution = db.session.scalar(sa.select(Execution).order_by(Execution.id.desc()))
    return policy, execution


def test_the_manual_approve_is_refused_while_the_review_workflow_waits(as_role, db, users):
    policy, execution = _waiting_review(db, users)
    with pytest.raises(Conflict, match=f"execution {execution.id}"):
        policies.transition_policy(policy.id, "approved", actor=users["admin"])
    db.session.rollback()
    client = as_role("admin")
    page = client.get(f"/policies/{policy.id}").get_data(as_text=True)
    assert 'id="lifecycle-gate"' in page
    assert f'href="/executions/{execution.id}"' in page
    assert 'name="target" value="approved"' not in page
    assert 'name="target" value="draft"' in page  # sending it back skips nothing
    response = client.submit(
        f"/policies/{policy.id}/transition",
        {"target": "approved", "version": policies.get_policy(policy.id).version},
        token_from=f"/policies/{policy.id}",
        follow_redirects=True,
    )
    assert "is still deciding this policy's review" in response.get_data(as_text=True)
    db.session.expire_all()
    assert policies.get_policy(policy.id).status == "in_review"
    # The workflow's own way: the approver approves, its set-status step moves the policy.
    approvals.record_decision(
        approval_requests(db)[0].id, user=users["approver"], decision="approved"
    )
    run_queued_steps()
    db.session.expire_all()
    assert policies.get_policy(policy.id).status == "approved"


def test_cancelling_the_review_execution_lifts_the_gate(db, users):
    policy, execution = _waiting_review(db, users)
    with pytest.raises(Conflict, match="cancel execution"):
        policies.transition_policy(policy.id, "approved", actor=users["admin"])
    db.session.rollback()
    with unit_of_work():
        operate.cancel_execution(execution.id, actor_id=users["admin"].id)
    policies.transition_policy(policy.id, "approved", actor=users["admin"])
    assert policies.get_policy(policy.id).status == "approved"


def test_only_a_workflow_still_deciding_the_policy_gates_it(db, users):
    make_workflow(
        users["admin"],
        trigger=SUBMITTED,
        stages=[[step("tell", "notify", {"to_owner": True, "subject": "s", "body": "b"})]],
    )
    told_only = make_policy(users["owner"])
    policies.transition_policy(told_only.id, "in_review", actor=users["owner"])
    # Its notify step has not even run yet, and decides nothing: no gate.
    policies.transition_policy(told_only.id, "approved", actor=users["admin"])
    assert policies.get_policy(told_only.id).status == "approved"
    reviewed, _ = _waiting_review(db, users)
    with pytest.raises(Conflict):
        policies.transition_policy(reviewed.id, "approved", actor=users["admin"])


def test_a_refused_transition_changes_nothing_and_sending_back_stays_open(db, users):
    policy, _ = _waiting_review(db, users)
    events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    with pytest.raises(Conflict):
        policies.transition_policy(policy.id, "approved", actor=users["admin"])
    db.session.rollback()
    with pytest.raises(NotAllowed):
        approvals.record_decision(
            approval_requests(db)[0].id, user=users["owner"], decision="approved"
        )
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == events
    assert policies.get_policy(policy.id).status == "in_review"
    # Request changes skips no review: it stays open (the waiting decisions go stale on edit).
    policies.transition_policy(policy.id, "draft", actor=users["admin"], reason="Section 2")
    assert policies.get_policy(policy.id).status == "draft"
