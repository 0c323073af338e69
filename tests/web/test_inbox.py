"""The approver's inbox: tabs and counts, in-place decisions, bulk approval, delegation,
reminders, filters, and the rules every decision obeys (four-eyes, once, not yours)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from governance.approvals import delegation
from governance.approvals import service as approvals
from governance.approvals.models import ApprovalDelegation, ApprovalRequest
from governance.audit.models import AuditEvent
from governance.engine import operate
from governance.engine.models import Execution, StepRun
from governance.errors import Conflict, NotAllowed
from governance.notifications.models import Notification
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work
from governance.workflows import service as workflows
from tests import factories
from tests.factories import (
    approval_requests,
    make_workflow,
    run_queued_steps,
    step,
    submit_for_review,
)

SUBMITTED = {"type": "policy.status_changed", "to_status": "in_review"}


def _review_workflow(users, config: dict, *, then_task: bool = True, name=None):
    stages = [[step("review", "approval", {"due_hours": 24} | config)]]
    if then_task:
        stages.append([step("publish", "create_task", {"title": "Publish", "assignee": "owner"})])
    return make_workflow(users["admin"], name=name, trigger=SUBMITTED, stages=stages)


def _execution(db) -> Execution:
    db.session.expire_all()
    return db.session.scalars(sa.select(Execution).order_by(Execution.id.desc())).first()


def _decide(client, request_id, decision, comment="", htmx=False, **extra):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.submit(
        f"/approvals/{request_id}/decide",
        {"decision": decision, "comment": comment, "origin": "inbox", **extra},
        token_from="/approvals",
        headers=headers,
    )


def _tab_count(html: str, tab: str) -> int:
    match = re.search(rf'id="tab-{tab}"[^>]*>[^<]*<span class="tab-count" data-count="(\d+)"', html)
    assert match, f"no count for tab {tab}"
    return int(match.group(1))


# ------------------------------------------------------------------ the list


def test_waiting_lists_my_and_my_groups_requests_with_what_an_approver_needs(as_role, users, db):
    legal = users["approver"].groups[0]
    _review_workflow(users, {"users": [users["security"].id], "groups": [legal.id], "rule": "all"})
    policy = factories.make_policy(users["owner"], title="Data retention", category="Privacy")
    factories.edit_policy(
        policy.id, users["owner"], body="# Purpose\n\nKeep records for seven years.\n"
    )
    factories.policies.transition_policy(policy.id, "in_review", actor=users["owner"])
    run_queued_steps()
    security_request = next(r for r in approval_requests(db) if r.assignee_user_id)
    approvals.record_decision(
        security_request.id, user=users["security"], decision="approved", comment="Fine by me"
    )

    html = as_role("approver").get("/approvals").get_data(as_text=True)
    assert "Data retention" in html
    assert users["owner"].name in html  # owner and the person who triggered it
    assert "step “review”" in html
    assert re.search(r"due in (23|24) h", html)
    # The other approver's decision so far, with their comment.
    assert "Fine by me" in html and users["security"].name in html
    # The change under review: the submitted revision against what was published (nothing).
    assert "Change under review: revision 2" in html
    assert "Keep records for seven years." in html
    assert _tab_count(html, "waiting") == 1
    assert '<span class="nav-badge">1</span>' in html
    # Not in the inbox of someone outside the group, nor of the submitter.
    assert "Data retention" not in as_role("viewer").get("/approvals").get_data(as_text=True)
    owner_inbox = as_role("owner").get("/approvals").get_data(as_text=True)
    assert "Data retention" not in owner_inbox and "/decide" not in owner_inbox


def test_the_change_is_compared_with_the_last_published_revision(as_role, users, db):
    _review_workflow(users, {"users": [users["approver"].id]})
    policy = factories.make_policy(users["owner"], body="Old rule.\n")
    factories.edit_policy(policy.id, users["owner"], body="New rule.\n")
    # Revision 1 was the text last published (set directly: a published policy is revised
    # through a new draft, which the policy lifecycle does not offer yet).
    db.session.execute(sa.update(factories.policies.Policy).values(published_revision=1))
    db.session.commit()
    factories.policies.transition_policy(policy.id, "in_review", actor=users["owner"])
    run_queued_steps()
    html = as_role("approver").get("/approvals").get_data(as_text=True)
    assert "Change under review: revision 2 against published revision 1" in html
    assert "<del>Old</del>" in html and "<ins>New</ins>" in html


def test_publishing_records_the_published_revision(users, db):
    policy = factories.make_policy(users["owner"], status="published", admin=users["admin"])
    assert policy.published_revision == policy.current_revision


def test_tabs_overdue_delegated_and_decided(as_role, users, db):
    _review_workflow(users, {"users": [users["approver"].id]}, then_task=False)
    for n in range(3):
        submit_for_review(users, title=f"P{n}")
    requests = approval_requests(db)
    db.session.execute(
        sa.update(ApprovalRequest)
        .where(ApprovalRequest.id == requests[0].id)
        .values(due_at=utcnow() - timedelta(days=2, hours=1))
    )
    db.session.commit()
    approvals.record_decision(requests[1].id, user=users["approver"], decision="approved")
    delegation.delegate(
        requests[2].id, actor=users["approver"], to_user_id=users["security"].id, reason="Away"
    )
    client = as_role("approver")
    html = client.get("/approvals").get_data(as_text=True)
    assert [_tab_count(html, tab) for tab in ("waiting", "overdue", "delegated", "decided")] == [
        1,
        1,
        1,
        1,
    ]
    overdue = client.get("/approvals?tab=overdue").get_data(as_text=True)
    assert "overdue by 2 d" in overdue and "P0" in overdue
    delegated = client.get("/approvals?tab=delegated").get_data(as_text=True)
    assert "P2" in delegated and "Away" in delegated and users["security"].name in delegated
    assert "/decide" not in delegated  # handed over: no longer mine to decide
    decided = client.get("/approvals?tab=decided").get_data(as_text=True)
    assert "P1" in decided and "Approved" in decided
    # The delegate sees it waiting for them.
    assert "P2" in as_role("security").get("/approvals").get_data(as_text=True)


def test_filters_by_workflow_category_and_due(as_role, users, db):
    legal_review = _review_workflow(users, {"users": [users["approver"].id]}, name="Legal review")
    submit_for_review(users, title="Privacy one", category="Privacy")
    workflows.deactivate(legal_review.id, actor=users["admin"])
    _review_workflow(users, {"users": [users["approver"].id], "due_hours": 0}, name="Quick review")
    submit_for_review(users, title="Security one", category="Security")
    client = as_role("approver")
    by_workflow = client.get(f"/approvals?workflow={legal_review.id}").get_data(as_text=True)
    assert "Privacy one" in by_workflow and "Security one" not in by_workflow
    by_category = client.get("/approvals?category=Security").get_data(as_text=True)
    assert "Security one" in by_category and "Privacy one" not in by_category
    no_deadline = client.get("/approvals?due=none").get_data(as_text=True)
    assert "Security one" in no_deadline and "Privacy one" not in no_deadline
    within_day = client.get("/approvals?due=day").get_data(as_text=True)
    assert "Privacy one" in within_day and "Security one" not in within_day
    # Due first: dated requests before undated ones.
    everything = client.get("/approvals").get_data(as_text=True)
    assert everything.index("Privacy one") < everything.index("Security one")
    # Nonsense choices in the address bar fall back to defaults; a workflow id that is not one
    # is refused with the reason.
    assert client.get("/approvals?tab=nope&due=soon&sort=x").status_code == 200
    refused = client.get("/approvals?workflow=abc")
    assert refused.status_code == 400
    assert "“workflow” in the address: Enter a whole number" in refused.get_data(as_text=True)


def test_a_page_costs_the_same_queries_for_few_and_many_requests(
    as_role, users, db, count_statements
):
    legal = users["approver"].groups[0]
    _review_workflow(users, {"groups": [legal.id], "users": [users["security"].id]})
    submit_for_review(users)
    client = as_role("approver")
    client.get("/approvals")  # warm up: the session and the user are loaded
    with count_statements() as few:
        assert client.get("/approvals").status_code == 200
    for n in range(8):
        submit_for_review(users, title=f"More {n}")
    with count_statements() as many:
        html = client.get("/approvals").get_data(as_text=True)
    assert html.count('<article class="inbox-item') == 9
    assert many.count == few.count


# ------------------------------------------------------------------ deciding in place


def test_approving_in_place_answers_with_the_item_and_out_of_band_counts(as_role, users, db):
    _review_workflow(users, {"users": [users["approver"].id]})
    submit_for_review(users, title="First")
    submit_for_review(users, title="Second")
    first = approval_requests(db)[0]
    client = as_role("approver")
    response = _decide(client, first.id, "approved", "Good", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="request-{first.id}"' in html and "inbox-item-done" in html
    assert 'id="inbox-tabs" aria-label="Inbox lists" hx-swap-oob="true"' in html
    assert _tab_count(html, "waiting") == 1 and _tab_count(html, "decided") == 1
    assert 'id="nav-inbox-count" hx-swap-oob="true"' in html
    assert '<span class="nav-badge">1</span>' in html
    # The execution moved on at once: its next stage is queued.
    db.session.expire_all()
    execution = db.session.get(Execution, first.execution_id)
    assert [run.status for run in execution.step_runs] == ["succeeded", "queued"]


def test_rejecting_without_a_comment_keeps_the_item_with_the_message(as_role, users, db):
    _review_workflow(users, {"users": [users["approver"].id]})
    submit_for_review(users)
    request = approval_requests(db)[0]
    response = _decide(as_role("approver"), request.id, "rejected", "   ", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give a reason to reject." in html and 'class="inbox-item' in html
    assert approval_requests(db)[0].status == "pending"
    assert _execution(db).status == "waiting"


def test_without_javascript_a_decision_redirects_back_to_the_inbox(as_role, users, db):
    _review_workflow(users, {"users": [users["approver"].id]})
    submit_for_review(users)
    request = approval_requests(db)[0]
    client = as_role("approver")
    response = _decide(client, request.id, "rejected", "Too vague", back="/approvals?tab=waiting")
    assert response.status_code == 303
    assert response.headers["Location"] == "/approvals?tab=waiting"
    assert "Rejected." in client.get("/approvals").get_data(as_text=True)
    assert _execution(db).status == "rejected"
    # The return address is only ever an inbox page.
    submit_for_review(users)
    other = approval_requests(db)[-1]
    evil = _decide(client, other.id, "approved", back="//evil.example/inbox")
    assert evil.headers["Location"] == "/approvals"


def test_the_submitter_gets_403_on_a_forged_post_even_as_admin_in_the_group(as_role, users, db):
    legal = users["approver"].groups[0]
    users["admin"].groups.append(legal)
    db.session.commit()
    _review_workflow(users, {"groups": [legal.id]})
    submit_for_review(users, submitter=users["admin"])
    request = approval_requests(db)[0]
    client = as_role("admin")
    assert "/decide" not in client.get("/approvals").get_data(as_text=True)
    response = _decide(client, request.id, "approved", htmx=True)
    assert response.status_code == 403
    assert "four-eyes" in response.get_data(as_text=True)
    assert approval_requests(db)[0].status == "pending"


def test_bad_ids_are_404_and_someone_elses_request_is_403(as_role, users, db):
    _review_workflow(users, {"users": [users["security"].id]})
    submit_for_review(users)
    request = approval_requests(db)[0]
    client = as_role("approver")
    assert _decide(client, 999_999, "approved").status_code == 404
    assert _decide(client, request.id, "approved").status_code == 403
    assert client.get(f"/approvals/{request.id}/delegate").status_code == 403
    assert approval_requests(db)[0].status == "pending"
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action.like("approval.%"))
        )
        == 0
    )


def test_decisions_on_a_cancelled_execution_are_refused(as_role, users, db):
    _review_workflow(users, {"users": [users["approver"].id, users["security"].id]})
    submit_for_review(users)
    request = approval_requests(db)[0]
    with unit_of_work():
        operate.cancel_execution(request.execution_id, actor_id=users["admin"].id)
    with pytest.raises(Conflict, match="already ended"):
        approvals.record_decision(request.id, user=users["approver"], decision="approved")
    db.session.rollback()
    assert {r.status for r in approval_requests(db)} == {"cancelled"}
    html = as_role("approver").get("/approvals").get_data(as_text=True)
    assert _tab_count(html, "waiting") == 0


# ------------------------------------------------------------------ bulk


def test_bulk_approval_records_each_and_reports_refusals(as_role, users, db):
    _review_workflow(users, {"users": [users["approver"].id]})
    for n in range(3):
        submit_for_review(users, title=f"Bulk {n}")
    requests = approval_requests(db)
    # One of them is decided by the time the bulk form arrives.
    approvals.record_decision(requests[2].id, user=users["approver"], decision="approved")
    client = as_role("approver")
    response = client.post(
        "/approvals/bulk",
        data={
            "csrf_token": client.csrf_token("/approvals"),
            "comment": "Batch OK",
            "request_ids": [str(r.id) for r in requests] + ["999999"],
        },
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "Approved 2 requests." in html
    assert (
        f"Request {requests[2].id} was not approved: This request has already been decided." in html
    )
    assert "Request 999999 was not approved: No such approval request." in html
    statuses = [r.status for r in approval_requests(db)]
    assert statuses == ["approved", "approved", "approved"]
    comments = db.session.scalars(
        sa.select(ApprovalRequest.comment).where(
            ApprovalRequest.id.in_([requests[0].id, requests[1].id])
        )
    ).all()
    assert comments == ["Batch OK", "Batch OK"]
    audit = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "approval.approved")
    )
    assert audit == 3  # one per decision


def test_bulk_with_nothing_selected_says_so(as_role, users, db):
    client = as_role("approver")
    response = client.submit(
        "/approvals/bulk", {"comment": ""}, token_from="/approvals", follow_redirects=True
    )
    assert "Select at least one request to approve." in response.get_data(as_text=True)


# ------------------------------------------------------------------ delegation


def test_delegation_chain_only_the_last_delegate_decides_once(as_role, users, db):
    third = factories.make_user("approver", email="third@example.test", name="Third Person")
    _review_workflow(users, {"users": [users["approver"].id]})
    submit_for_review(users)
    request = approval_requests(db)[0]
    a, b = as_role("approver"), as_role("security")
    response = a.submit(
        f"/approvals/{request.id}/delegate",
        {"to_user_id": users["security"].id, "reason": "On leave"},
    )
    assert response.status_code == 303
    response = b.submit(
        f"/approvals/{request.id}/delegate", {"to_user_id": third.id, "reason": "Expert"}
    )
    assert response.status_code == 303
    for former in (a, b):
        assert _decide(former, request.id, "approved").status_code == 403
    c = factories_login(a, third)
    assert _decide(c, request.id, "approved").status_code == 303
    again = _decide(c, request.id, "approved")
    assert again.status_code == 303  # answered with a message, not a second decision
    assert "already been decided" in c.get("/approvals").get_data(as_text=True)
    chain = db.session.execute(
        sa.select(ApprovalDelegation.from_user_id, ApprovalDelegation.to_user_id).order_by(
            ApprovalDelegation.id
        )
    ).all()
    assert chain == [(users["approver"].id, users["security"].id), (users["security"].id, third.id)]
    assert approval_requests(db)[0].decided_by_id == third.id
    # A and B both see it under "Delegated by me"; the delegate got a notification.
    assert "On leave" in a.get("/approvals?tab=delegated").get_data(as_text=True)
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == third.id)
        )
        >= 1
    )


def factories_login(client, user):
    """A fresh client for `user` (the app is the same as `client`'s)."""
    from tests.conftest import WebClient

    app = client.application
    app.test_client_class = WebClient
    fresh = app.test_client()
    assert fresh.login(user.email).status_code == 302
    return fresh


def test_delegation_refuses_bad_input_with_clear_messages(as_role, users, db):
    _review_workflow(users, {"users": [users["approver"].id]})
    submit_for_review(users)
    request = approval_requests(db)[0]
    client = as_role("approver")
    url = f"/approvals/{request.id}/delegate"
    cases = [
        ({"to_user_id": users["security"].id, "reason": " "}, "Say why you are delegating"),
        ({"to_user_id": 0, "reason": "x"}, "Choose an active approver"),
        ({"to_user_id": users["viewer"].id, "reason": "x"}, "is not an approver"),
        ({"to_user_id": users["owner"].id, "reason": "x"}, "four-eyes"),
    ]
    for data, message in cases:
        response = client.submit(url, data)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), data
    assert approval_requests(db)[0].assignee_user_id == users["approver"].id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApprovalDelegation)) == 0


def test_an_admin_can_reassign_any_request(as_role, users, db):
    _review_workflow(users, {"users": [users["approver"].id]})
    submit_for_review(users)
    request = approval_requests(db)[0]
    admin = as_role("admin")
    page = admin.get(f"/executions/{request.execution_id}").get_data(as_text=True)
    assert f"/approvals/{request.id}/delegate" in page  # "Reassign…" on the execution page
    response = admin.submit(
        f"/approvals/{request.id}/delegate",
        {"to_user_id": users["security"].id, "reason": "Rebalancing"},
    )
    assert response.status_code == 303
    assert approval_requests(db)[0].assignee_user_id == users["security"].id
    with pytest.raises(NotAllowed):
        delegation.delegate(
            request.id, actor=users["approver"], to_user_id=users["admin"].id, reason="mine?"
        )


# ------------------------------------------------------------------ remind and escalate


def test_the_requester_can_remind_once_an_hour(as_role, users, db):
    _review_workflow(users, {"users": [users["approver"].id]})
    submit_for_review(users)
    request = approval_requests(db)[0]
    owner = as_role("owner")
    url = f"/approvals/{request.id}/remind"
    back = owner.submit(
        url, token_from=f"/executions/{request.execution_id}", follow_redirects=True
    )
    assert f"Reminded {users['approver'].name}." in back.get_data(as_text=True)
    again = owner.submit(
        url, token_from=f"/executions/{request.execution_id}", follow_redirects=True
    )
    assert "you can remind again after" in again.get_data(as_text=True)
    reminders = db.session.scalars(
        sa.select(Notification.subject).where(
            Notification.user_id == users["approver"].id, Notification.subject.like("Reminder%")
        )
    ).all()
    assert len(reminders) == 1
    # An hour later it works again; someone else cannot remind at all.
    db.session.execute(
        sa.update(ApprovalRequest).values(reminded_at=utcnow() - timedelta(minutes=61))
    )
    db.session.commit()
    # Someone who reads the request but did not submit the change is refused (403); a viewer,
    # who may not read a change under review, finds no such request (404).
    assert as_role("other_owner").submit(url, token_from="/account").status_code == 403
    assert as_role("viewer").submit(url, token_from="/account").status_code == 404
    owner.submit(url, token_from="/account")
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(
                Notification.user_id == users["approver"].id, Notification.subject.like("Reminder%")
            )
        )
        == 2
    )


def test_escalation_notifies_the_target_once_and_adds_it_only_when_asked(db, users):
    from governance.engine import reconciler

    _review_workflow(
        users,
        {"users": [users["approver"].id], "escalate_user_id": users["security"].id},
    )
    submit_for_review(users)
    submit_for_review(users)
    db.session.execute(sa.update(ApprovalRequest).values(due_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    assert reconciler.reconcile()["approvals_escalated"] == 2
    assert reconciler.reconcile()["approvals_escalated"] == 0
    overdue_notes = db.session.scalars(
        sa.select(Notification.subject).where(Notification.user_id == users["security"].id)
    ).all()
    assert len(overdue_notes) == 2 and all(s.startswith("Overdue approval") for s in overdue_notes)
    # Notify only: no extra approver was added.
    assert {r.assignee_user_id for r in approval_requests(db)} == {users["approver"].id}


# ------------------------------------------------------------------ the rules, under load


def test_two_people_deciding_one_group_request_at_once_count_once(app, db, users):
    legal = users["approver"].groups[0]
    colleague = factories.make_user("approver", email="colleague@example.test", groups=[legal])
    _review_workflow(users, {"groups": [legal.id]}, then_task=False)
    submit_for_review(users)
    request_id = approval_requests(db)[0].id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(user_id: int, decision: str) -> None:
        with app.app_context():
            from governance.auth.models import User
            from governance.extensions import db as _db

            user = _db.session.get(User, user_id)
            barrier.wait()
            try:
                approvals.record_decision(request_id, user=user, decision=decision, comment="race")
                outcomes.append("ok")
            except Conflict as error:
                _db.session.rollback()
                outcomes.append(error.message)
            finally:
                _db.session.remove()

    threads = [
        threading.Thread(target=decide, args=(users["approver"].id, "approved")),
        threading.Thread(target=decide, args=(colleague.id, "rejected")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 2 and outcomes.count("ok") == 1
    refusal = next(outcome for outcome in outcomes if outcome != "ok")
    assert "already" in refusal  # "already been decided" or "has already ended"
    request = approval_requests(db)[0]
    assert request.status in ("approved", "rejected")
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action.like("approval.%"))
        )
        == 1
    )
    step_run = db.session.get(StepRun, request.step_run_id)
    assert step_run.status in ("succeeded", "failed")
