"""/api/v1/approvals: the requests waiting for me (the inbox's rules, cursor pages) and a
decision through the decision service: four-eyes, decided once, a reason to reject, and
someone else's request kept out of sight. Steps run the way a consumer runs them; every
refusal leaves the requests, executions and audit trail as they were.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from governance.approvals.models import ApprovalRequest
from governance.audit.models import AuditEvent
from governance.engine import operate
from governance.engine.models import Execution, StepRun
from governance.tasks.models import Task
from governance.unit_of_work import unit_of_work
from tests import factories
from tests.factories import (
    approval_requests,
    make_workflow,
    run_queued_steps,
    step,
    submit_for_review,
)

SUBMITTED = {"type": "policy.status_changed", "to_status": "in_review"}


def _review_workflow(users, config: dict, name=None):
    """Stage 1 waits for the approval; stage 2 creates a task once it is approved."""
    return make_workflow(
        users["admin"],
        name=name,
        trigger=SUBMITTED,
        stages=[
            [step("review", "approval", {"rule": "any"} | config)],
            [step("publish", "create_task", {"title": "Publish it", "assignee": "owner"})],
        ],
    )


def _request_for(db, user) -> ApprovalRequest:
    return next(r for r in approval_requests(db) if r.assignee_user_id == user.id)


def _latest(db) -> Execution:
    db.session.expire_all()
    return db.session.scalars(sa.select(Execution).order_by(Execution.id.desc())).first()


def _state(db) -> list[tuple]:
    """What a decision may change: requests, step runs, executions and their audit events."""
    db.session.expire_all()
    return [
        *db.session.execute(
            sa.select(
                ApprovalRequest.id,
                ApprovalRequest.status,
                ApprovalRequest.decided_by_id,
                ApprovalRequest.comment,
            )
        ),
        *db.session.execute(sa.select(StepRun.id, StepRun.status)),
        *db.session.execute(sa.select(Execution.id, Execution.status)),
        *db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.object_id).where(
                AuditEvent.action.like("approval.%")
            )
        ),
    ]


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def _decide(client, request_id: int, decision: str, comment: str | None = None, **extra):
    body = {"decision": decision} | ({"comment": comment} if comment is not None else {}) | extra
    return client.post(f"approvals/{request_id}/decision", json=body)


# ------------------------------------------------------------------ my pending requests


def test_list_holds_requests_for_me_and_my_groups_not_others_nor_my_own_change(api_as, users, db):
    legal = users["approver"].groups[0]
    workflow = _review_workflow(
        users, {"users": [users["security"].id], "groups": [legal.id], "rule": "all"}
    )
    submit_for_review(users, title="Data retention", category="Privacy")
    legal_request, security_request = sorted(
        approval_requests(db), key=lambda r: r.assignee_user_id or 0
    )

    response = api_as("approver").get("approvals")

    assert _ids(response) == [legal_request.id]
    assert response.json["next_cursor"] is None
    item = response.json["items"][0]
    execution = _latest(db)
    assert item["status"] == "pending"
    assert item["step_key"] == "review"
    assert item["assignee_user"] is None
    assert item["assignee_group"] == {"id": legal.id, "name": "Legal"}
    assert item["execution"] == {
        "id": execution.id,
        "status": "waiting",
        "workflow_id": workflow.id,
        "workflow_name": workflow.name,
        "started_by": {"id": users["owner"].id, "name": users["owner"].name},
    }
    assert item["policy"]["title"] == "Data retention"
    assert item["policy"]["category"] == "Privacy"
    assert item["due_at"] is None and item["decided_by"] is None

    assert _ids(api_as("security").get("approvals")) == [security_request.id]
    assert _ids(api_as("viewer").get("approvals")) == []
    assert _ids(api_as("owner").get("approvals")) == []  # not even when asked: own change


def test_the_submitter_does_not_see_a_request_assigned_to_them(api_as, users, db):
    _review_workflow(users, {"users": [users["admin"].id]})
    submit_for_review(users, submitter=users["admin"])
    assert len(approval_requests(db)) == 1
    assert _ids(api_as("admin").get("approvals")) == []


def test_decided_requests_and_ended_executions_leave_the_list(api_as, users, db):
    _review_workflow(users, {"users": [users["security"].id]})
    submit_for_review(users)
    submit_for_review(users)
    first, second = approval_requests(db)
    client = api_as("security")
    assert _ids(client.get("approvals")) == [second.id, first.id]  # newest first

    assert _decide(client, first.id, "approve").status_code == 200
    with unit_of_work():
        operate.cancel_execution(second.execution_id, actor_id=users["admin"].id)

    assert _ids(client.get("approvals")) == []


def test_list_pages_with_a_cursor_and_filters_by_workflow(api_as, users, db):
    one = _review_workflow(users, {"users": [users["security"].id]}, name="One")
    for _ in range(3):
        submit_for_review(users)
    # A second workflow on the same trigger: each submission now starts two executions.
    two = _review_workflow(users, {"users": [users["security"].id]}, name="Two")
    submit_for_review(users)
    all_ids = [r.id for r in reversed(approval_requests(db))]
    assert len(all_ids) == 5
    client = api_as("security")

    first = client.get("approvals?limit=2")
    second = client.get(f"approvals?limit=2&cursor={first.json['next_cursor']}")
    third = client.get(f"approvals?limit=2&cursor={second.json['next_cursor']}")

    assert _ids(first) + _ids(second) + _ids(third) == all_ids
    assert third.json["next_cursor"] is None
    by_workflow = {r.id: r.execution.workflow_id for r in approval_requests(db)}
    assert _ids(client.get(f"approvals?workflow_id={two.id}")) == [
        i for i in all_ids if by_workflow[i] == two.id
    ]
    assert len(_ids(client.get(f"approvals?workflow_id={one.id}"))) == 4


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("workflow_id=x", "workflow_id"), ("cursor=%%%", "cursor")],
)
def test_invalid_list_parameters_answer_422(api_as, users, db, query, field):
    response = api_as("approver").get(f"approvals?{query}")
    assert response.status_code == 422
    assert [d["field"] for d in response.json["error"]["details"]] == [field]


# ------------------------------------------------------------------ deciding


def test_approving_moves_the_workflow_on(api_as, users, db):
    _review_workflow(users, {"users": [users["security"].id]})
    submit_for_review(users)
    request = approval_requests(db)[0]

    response = _decide(api_as("security"), request.id, "approve", "Looks right")

    assert response.status_code == 200, response.json
    assert response.json["step_state"] == "approved"
    assert response.json["message"] == "Approved; the workflow moves on."
    decided = response.json["request"]
    assert decided["status"] == "approved"
    assert decided["decided_by"] == {"id": users["security"].id, "name": users["security"].name}
    assert decided["comment"] == "Looks right"
    assert decided["decided_at"] is not None
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action.like("approval.%")))
    assert (event.action, event.object_id, event.actor_id) == (
        "approval.approved",
        request.id,
        users["security"].id,
    )
    run_queued_steps()
    assert _latest(db).status == "succeeded"
    assert db.session.scalar(sa.select(Task.title)) == "Publish it"


def test_rejecting_with_a_comment_ends_the_execution_rejected(api_as, users, db):
    _review_workflow(users, {"users": [users["security"].id]})
    submit_for_review(users)
    request = approval_requests(db)[0]

    response = _decide(api_as("security"), request.id, "reject", "Scope is wrong")

    assert response.status_code == 200
    assert response.json["step_state"] == "rejected"
    assert response.json["request"]["status"] == "rejected"
    assert _latest(db).status == "rejected"


def test_a_group_members_decision_counts_and_the_step_waits_for_the_rest(api_as, users, db):
    legal = users["approver"].groups[0]
    _review_workflow(users, {"users": [users["security"].id], "groups": [legal.id], "rule": "all"})
    submit_for_review(users)
    legal_request = next(r for r in approval_requests(db) if r.assignee_group_id == legal.id)

    response = _decide(api_as("approver"), legal_request.id, "approve")

    assert response.status_code == 200
    assert response.json["step_state"] == "waiting"
    assert response.json["message"] == "Recorded; the step still waits for other approvers."
    assert response.json["request"]["decided_by"]["id"] == users["approver"].id
    assert _latest(db).status == "waiting"


def test_the_submitter_gets_the_four_eyes_refusal(api_as, users, db):
    second_admin = factories.make_user("admin", email="admin2@example.test")
    _review_workflow(users, {"users": [users["admin"].id, second_admin.id]})
    submit_for_review(users, submitter=users["admin"])
    own = _request_for(db, users["admin"])
    client = api_as("admin")
    before = _state(db)

    response = _decide(client, own.id, "approve")
    other = _decide(client, _request_for(db, second_admin).id, "approve")

    assert response.status_code == other.status_code == 403
    assert "four-eyes" in response.json["error"]["message"]
    assert "four-eyes" in other.json["error"]["message"]
    assert _state(db) == before


def test_an_author_of_the_change_gets_the_four_eyes_refusal(api_as, users, db):
    _review_workflow(users, {"users": [users["admin"].id]})
    submit_for_review(users, edited_by=users["admin"])
    before = _state(db)
    response = _decide(api_as("admin"), approval_requests(db)[0].id, "approve")
    assert response.status_code == 403
    assert "wrote part of this change" in response.json["error"]["message"]
    assert _state(db) == before


def test_a_second_decision_by_one_person_in_a_step_is_a_conflict(api_as, users, db):
    legal, security = users["approver"].groups[0], users["security"].groups[0]
    users["approver"].groups.append(security)
    db.session.commit()
    _review_workflow(users, {"groups": [legal.id, security.id], "rule": "quorum", "quorum": 2})
    submit_for_review(users)
    first, second = approval_requests(db)
    client = api_as("approver")
    assert _decide(client, first.id, "approve").json["step_state"] == "waiting"
    before = _state(db)
    response = _decide(client, second.id, "approve")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "conflict"
    assert "already decided this step" in response.json["error"]["message"]
    assert _state(db) == before


def test_someone_elses_request_is_refused_to_its_readers_and_not_found_for_the_others(
    api_as, users, db
):
    legal = users["approver"].groups[0]
    _review_workflow(users, {"users": [users["security"].id], "groups": [legal.id], "rule": "all"})
    submit_for_review(users)
    security_request = _request_for(db, users["security"])
    legal_request = next(r for r in approval_requests(db) if r.assignee_group_id == legal.id)
    before = _state(db)

    # Who may read the change under review sees its requests (403: not theirs to decide)...
    for role, request in [
        ("admin", security_request),
        ("approver", security_request),  # a Legal member, not the named approver
        ("security", legal_request),  # not in the Legal group
    ]:
        response = _decide(api_as(role), request.id, "approve")
        assert response.status_code == 403, role
        assert "not assigned to you" in response.json["error"]["message"]
    # ...a viewer may not read a draft under review: for them the request does not exist.
    response = _decide(api_as("viewer"), security_request.id, "approve")
    assert response.status_code == 404
    assert response.json["error"]["message"] == "No such approval request."

    assert _state(db) == before
    missing = _decide(api_as("security"), 99999, "approve")
    assert missing.status_code == 404
    assert missing.json["error"]["message"] == "No such approval request."


def test_deciding_twice_is_a_conflict(api_as, users, db):
    _review_workflow(users, {"users": [users["security"].id, users["approver"].id], "rule": "all"})
    submit_for_review(users)
    request = _request_for(db, users["security"])
    client = api_as("security")
    assert _decide(client, request.id, "approve").status_code == 200
    before = _state(db)

    response = _decide(client, request.id, "reject", "Changed my mind")

    assert response.status_code == 409
    assert response.json["error"]["code"] == "conflict"
    assert response.json["error"]["message"] == "This request has already been decided."
    assert _state(db) == before


def test_a_request_closed_by_another_approvers_decision_is_a_conflict(api_as, users, db):
    _review_workflow(users, {"users": [users["security"].id, users["approver"].id]})
    submit_for_review(users)
    first = _decide(api_as("approver"), _request_for(db, users["approver"]).id, "approve")
    assert first.status_code == 200
    before = _state(db)

    response = _decide(api_as("security"), _request_for(db, users["security"]).id, "approve")

    assert response.status_code == 409
    assert "already decided by other approvers" in response.json["error"]["message"]
    assert _state(db) == before


def test_a_request_on_a_cancelled_execution_is_a_conflict(api_as, users, db):
    _review_workflow(users, {"users": [users["security"].id]})
    submit_for_review(users)
    request = approval_requests(db)[0]
    with unit_of_work():
        operate.cancel_execution(request.execution_id, actor_id=users["admin"].id)
    before = _state(db)

    response = _decide(api_as("security"), request.id, "approve")

    assert response.status_code == 409
    assert "already ended (cancelled)" in response.json["error"]["message"]
    assert _state(db) == before


@pytest.mark.parametrize("comment", [None, "", "   "])
def test_rejecting_without_a_comment_is_refused_and_nothing_changes(api_as, users, db, comment):
    _review_workflow(users, {"users": [users["security"].id]})
    submit_for_review(users)
    request = approval_requests(db)[0]
    before = _state(db)

    response = _decide(api_as("security"), request.id, "reject", comment)

    assert response.status_code == 422
    assert response.json["error"]["message"] == "Give a reason to reject."
    assert response.json["error"]["details"] == [
        {"field": "comment", "message": "Give a reason to reject."}
    ]
    assert _state(db) == before


@pytest.mark.parametrize(
    ("kwargs", "status", "fields"),
    [
        ({"data": "{not json", "content_type": "application/json"}, 400, []),
        ({"data": "", "content_type": "application/json"}, 422, [None]),
        ({"json": {"decision": "approved"}}, 422, ["decision"]),
        ({"json": {"decision": "maybe", "comment": 3}}, 422, ["decision", "comment"]),
        ({"json": {"comment": "no decision"}}, 422, ["decision"]),
        ({"json": {"decision": "approve", "comment": "x" * 2001}}, 422, ["comment"]),
        ({"json": {"decision": "approve", "comment": "ok\x00"}}, 422, ["comment"]),
        ({"json": {"decision": "approve", "on_behalf_of": 1}}, 422, ["on_behalf_of"]),
    ],
)
def test_a_bad_decision_body_is_refused_and_nothing_changes(
    api_as, users, db, kwargs, status, fields
):
    _review_workflow(users, {"users": [users["security"].id]})
    submit_for_review(users)
    request = approval_requests(db)[0]
    before = _state(db)

    response = api_as("security").request("POST", f"approvals/{request.id}/decision", **kwargs)

    assert response.status_code == status, response.json
    assert [d["field"] for d in response.json["error"]["details"]] == fields
    assert _state(db) == before


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "approvals"), ("POST", "approvals/{id}/decision")]
)
def test_every_endpoint_needs_a_valid_token(api_as, users, db, method, path):
    _review_workflow(users, {"users": [users["security"].id]})
    submit_for_review(users)
    request = approval_requests(db)[0]
    before = _state(db)
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = api_as(None).request(
            method, path.format(id=request.id), json={"decision": "approve"}, headers=headers
        )
        assert response.status_code == 401
    assert _state(db) == before
