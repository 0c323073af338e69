"""Policy exceptions: the request form, approval through an "Exception requested" workflow
(four-eyes included), the outcome settling the exception, expiry, revocation, the lists and
the role checks on every route."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from governance.approvals import service as approvals
from governance.audit.models import AuditEvent
from governance.engine import operate
from governance.engine.models import Execution
from governance.errors import DomainError, NotAllowed
from governance.extensions import huey
from governance.notifications.models import Notification
from governance.policies import service as policies
from governance.policy_exceptions import service as exceptions
from governance.policy_exceptions.models import PolicyException
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work
from tests import factories
from tests.factories import approval_requests, make_workflow, run_queued_steps, step

REQUESTED = {"type": "exception.requested"}


def _published(users, owner="owner", **fields):
    return factories.make_policy(users[owner], "published", admin=users["admin"], **fields)


def _exception_workflow(users, **extra):
    """One approval stage: the approver, or (when the rule is 'all') also the owner."""
    assignees = extra.pop("assignees", [users["approver"].id])
    return make_workflow(
        users["admin"],
        trigger=REQUESTED,
        stages=[[step("approve", "approval", {"users": assignees, "rule": "any"})]],
        **extra,
    )


def _in(days: int) -> date:
    return utcnow().date() + timedelta(days=days)


def _request(users, policy, *, scope="Legacy payroll server", days=30, actor="owner") -> int:
    exception_id = exceptions.request_exception(
        policy.id,
        exceptions.ExceptionInput(
            scope=scope, justification="Vendor patch due in March.", expires_on=_in(days)
        ),
        actor=users[actor],
        max_days=365,
    )
    run_queued_steps()
    return exception_id


def _exception(db, exception_id) -> PolicyException:
    db.session.expire_all()
    return db.session.get(PolicyException, exception_id)


def _actions(db, exception_id) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(
                AuditEvent.object_type == "policy_exception", AuditEvent.object_id == exception_id
            )
            .order_by(AuditEvent.seq)
        )
    )


def _notifications(db, user) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Notification.subject)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id)
        )
    )


def _form(days=30, **overrides) -> dict:
    return {
        "scope": "Contractors in the data team",
        "justification": "They use their own laptops until the new ones arrive.",
        "expires_on": _in(days).isoformat(),
    } | overrides


# ---------------------------------------------------------------- the request form


def test_owner_requests_an_exception_through_the_form_and_its_workflow_starts(as_role, users, db):
    workflow = _exception_workflow(users)
    policy = _published(users)
    client = as_role("owner")
    url = f"/policies/{policy.id}/exceptions/new"
    assert "Who or what it covers" in client.get(url).get_data(as_text=True)

    response = client.submit(url, _form())

    exception = db.session.scalars(sa.select(PolicyException)).one()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/policy-exceptions/{exception.id}"
    assert exception.status == "pending"
    assert exception.requested_by_id == users["owner"].id
    execution = db.session.get(Execution, exception.execution_id)
    assert execution.workflow_id == workflow.id
    assert execution.policy_id == policy.id
    assert execution.actor_id == users["owner"].id
    assert execution.trigger_type == "exception.requested"
    assert execution.trigger_data["exception_id"] == exception.id
    assert execution.trigger_data["scope"] == "Contractors in the data team"
    assert execution.trigger_data["expires_on"] == _in(30).isoformat()
    assert _actions(db, exception.id) == ["exception.requested"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"scope": "  "}, "Say who or what the exception covers."),
        ({"scope": "x" * 201}, "The scope must be at most 200 characters."),
        ({"justification": ""}, "Explain why the exception is needed."),
        ({"justification": "x" * 5001}, "The justification must be at most 5,000 characters."),
        ({"expires_on": ""}, "Choose the date the exception expires."),
        ({"expires_on": "next week"}, "Enter the date as YYYY-MM-DD, e.g. 2030-12-31."),
        ({"expires_on": date.today().isoformat()}, "The expiry date must be after today."),
        ({"expires_on": "2001-01-01"}, "The expiry date must be after today."),
        ({"expires_on": _in(366).isoformat()}, "An exception can last at most 365 days"),
    ],
)
def test_bad_input_is_answered_on_the_form_and_nothing_is_written(
    as_role, users, db, overrides, message
):
    _exception_workflow(users)
    policy = _published(users)
    url = f"/policies/{policy.id}/exceptions/new"

    response = as_role("owner").submit(url, _form(**overrides))

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PolicyException)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Execution)) == 0


def test_without_an_active_exception_workflow_the_request_is_refused_and_nothing_written(
    as_role, users, db
):
    _exception_workflow(users, activate=False)
    make_workflow(  # an active workflow with another trigger does not count
        users["admin"],
        trigger={"type": "manual"},
        stages=[[step("approve", "approval", {"users": [users["approver"].id]})]],
    )
    policy = _published(users)
    client = as_role("owner")
    url = f"/policies/{policy.id}/exceptions/new"
    token = client.csrf_token(url)
    audit_before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))

    response = client.post(url, data=_form() | {"csrf_token": token})

    assert response.status_code == 200
    assert (
        "No active workflow approves exceptions: an administrator must activate one with the "
        "trigger “Exception requested”." in response.get_data(as_text=True)
    )
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PolicyException)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Execution)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == audit_before


def test_workflow_conditions_on_policy_fields_decide_which_requests_it_approves(users, db):
    make_workflow(
        users["admin"],
        trigger=REQUESTED,
        conditions=[{"field": "policy.category", "op": "equals", "value": "Finance"}],
        stages=[[step("approve", "approval", {"users": [users["approver"].id]})]],
    )
    finance = _published(users, category="Finance")
    security = _published(users, category="Security")

    assert _exception(db, _request(users, finance)).status == "pending"
    with pytest.raises(DomainError, match="No active workflow approves exceptions"):
        _request(users, security)


def test_policy_without_a_live_version_cannot_have_exceptions(as_role, users, db):
    _exception_workflow(users)
    draft = factories.make_policy(users["owner"])
    client = as_role("owner")

    response = client.get(f"/policies/{draft.id}/exceptions/new", follow_redirects=True)

    assert "Only a policy with a published version in force can have exceptions." in (
        response.get_data(as_text=True)
    )
    with pytest.raises(DomainError, match="published version"):
        _request(users, draft)


# ---------------------------------------------------------------- the workflow decides


def test_requester_cannot_approve_their_own_exception(users, db):
    _exception_workflow(users, assignees=[users["owner"].id, users["approver"].id])
    exception_id = _request(users, _published(users))
    (request,) = [r for r in approval_requests(db) if r.assignee_user_id == users["owner"].id]

    with pytest.raises(NotAllowed, match="four-eyes"):
        approvals.record_decision(request.id, user=users["owner"], decision="approved")

    db.session.rollback()
    assert _exception(db, exception_id).status == "pending"


def test_an_approved_exception_becomes_active_and_the_requester_is_told(users, db):
    _exception_workflow(users)
    exception_id = _request(users, _published(users))
    (request,) = approval_requests(db)

    approvals.record_decision(request.id, user=users["approver"], decision="approved")

    exception = _exception(db, exception_id)
    assert exception.status == "active"
    assert exception.decided_at is not None
    assert exception.execution.status == "succeeded"
    assert _actions(db, exception_id) == ["exception.requested", "exception.approved"]
    assert _notifications(db, users["owner"])[-1].startswith("Exception approved")


def test_a_later_stage_runs_before_the_exception_becomes_active(users, db):
    make_workflow(
        users["admin"],
        trigger=REQUESTED,
        stages=[
            [step("approve", "approval", {"users": [users["approver"].id]})],
            [step("tell", "notify", {"to_owner": True, "subject": "{{ trigger.scope }} ok"})],
        ],
    )
    exception_id = _request(users, _published(users))
    (request,) = approval_requests(db)
    approvals.record_decision(request.id, user=users["approver"], decision="approved")
    assert _exception(db, exception_id).status == "pending"

    run_queued_steps()

    assert _exception(db, exception_id).status == "active"
    assert "Legacy payroll server ok" in _notifications(db, users["owner"])


def test_a_rejected_exception_becomes_rejected(users, db):
    _exception_workflow(users)
    exception_id = _request(users, _published(users))
    (request,) = approval_requests(db)

    approvals.record_decision(
        request.id, user=users["approver"], decision="rejected", comment="Too risky."
    )

    exception = _exception(db, exception_id)
    assert exception.status == "rejected"
    assert exception.decided_at is not None
    assert _actions(db, exception_id)[-1] == "exception.rejected"
    assert _notifications(db, users["owner"])[-1].startswith("Exception not approved")


def test_a_cancelled_approval_rejects_the_exception(users, db):
    _exception_workflow(users)
    exception_id = _request(users, _published(users))
    execution_id = _exception(db, exception_id).execution_id

    with unit_of_work():
        operate.cancel_execution(execution_id, actor_id=users["admin"].id, reason="Not needed")

    assert _exception(db, exception_id).status == "rejected"


# ---------------------------------------------------------------- expiry


def _active_exception(users, db, days=10) -> int:
    _exception_workflow(users)
    exception_id = _request(users, _published(users), days=days)
    (request,) = approval_requests(db)
    approvals.record_decision(request.id, user=users["approver"], decision="approved")
    return exception_id


def test_an_exception_covers_its_expiry_date_and_expires_the_day_after(users, db):
    exception_id = _active_exception(users, db, days=10)

    assert exceptions.expire_exceptions(today=_in(10)) == []
    assert _exception(db, exception_id).status == "active"

    assert exceptions.expire_exceptions(today=_in(11)) == [exception_id]
    exception = _exception(db, exception_id)
    assert exception.status == "expired"
    assert exception.ended_at is not None


def test_expiry_happens_once_even_when_run_twice_and_notifies_requester_and_owner(users, db):
    admin_policy = factories.make_policy(users["owner"], "published", admin=users["admin"])
    _exception_workflow(users)
    # Requested by an admin: the requester and the policy's owner are two people.
    exception_id = _request(users, admin_policy, days=5, actor="admin")
    (request,) = approval_requests(db)
    approvals.record_decision(request.id, user=users["approver"], decision="approved")

    first = exceptions.expire_exceptions(today=_in(6))
    second = exceptions.expire_exceptions(today=_in(7))

    assert first == [exception_id]
    assert second == []
    assert _actions(db, exception_id).count("exception.expired") == 1
    for person in (users["admin"], users["owner"]):
        expired = [s for s in _notifications(db, person) if s.startswith("Exception expired")]
        assert len(expired) == 1


def test_the_hourly_task_expires_exceptions(users, db):
    from governance.policy_exceptions.jobs import expire_exceptions_hourly

    exception_id = _active_exception(users, db, days=1)
    _exception(db, exception_id).expires_on = utcnow().date() - timedelta(days=1)
    db.session.commit()

    assert expire_exceptions_hourly.call_local() == 1
    assert _exception(db, exception_id).status == "expired"
    periodic = [task.name for task in huey._registry.periodic_tasks]
    assert any(name.endswith("expire_exceptions_hourly") for name in periodic)


def test_pending_and_rejected_exceptions_never_expire(users, db):
    _exception_workflow(users)
    pending_id = _request(users, _published(users), days=1)

    assert exceptions.expire_exceptions(today=_in(30)) == []
    assert _exception(db, pending_id).status == "pending"


# ---------------------------------------------------------------- revoking


def test_owner_revokes_an_active_exception_with_a_reason(as_role, users, db):
    exception_id = _active_exception(users, db)
    client = as_role("owner")
    url = f"/policy-exceptions/{exception_id}/revoke"

    missing = client.submit(url, {"reason": ""}, token_from=f"/policy-exceptions/{exception_id}")
    assert "Give a reason to revoke the exception." in missing.get_data(as_text=True)
    assert _exception(db, exception_id).status == "active"

    response = client.submit(
        url, {"reason": "Server decommissioned."}, token_from=f"/policy-exceptions/{exception_id}"
    )

    assert response.status_code == 303
    exception = _exception(db, exception_id)
    assert exception.status == "revoked"
    assert exception.end_reason == "Server decommissioned."
    assert _actions(db, exception_id)[-1] == "exception.revoked"
    again = client.submit(url, {"reason": "Twice"}, token_from=f"/policy-exceptions/{exception_id}")
    assert "This exception has already ended (revoked)." in again.get_data(as_text=True)


def test_revoking_a_pending_exception_cancels_its_approval(users, db):
    _exception_workflow(users)
    exception_id = _request(users, _published(users))

    exceptions.revoke_exception(exception_id, actor=users["admin"], reason="Raised by mistake")

    exception = _exception(db, exception_id)
    assert exception.status == "revoked"
    assert exception.execution.status == "cancelled"
    assert [request.status for request in approval_requests(db)] == ["cancelled"]
    assert _notifications(db, users["owner"])[-1].startswith("Exception revoked")


# ---------------------------------------------------------------- lists and pages


def test_policy_page_lists_open_exceptions_and_offers_the_request_button(as_role, users, db):
    exception_id = _active_exception(users, db, days=12)
    policy_id = _exception(db, exception_id).policy_id
    pending_id = _request(users, policies.get_policy(policy_id), scope="Branch office printers")

    owner_page = as_role("owner").get(f"/policies/{policy_id}").get_data(as_text=True)
    assert f'id="policy-exception-{exception_id}"' in owner_page
    assert f'id="policy-exception-{pending_id}"' in owner_page
    assert "Legacy payroll server" in owner_page
    assert "12 days left" in owner_page
    assert "Pending approval" in owner_page
    assert f"/policies/{policy_id}/exceptions/new" in owner_page

    other_owner_page = as_role("other_owner").get(f"/policies/{policy_id}").get_data(as_text=True)
    assert "Legacy payroll server" in other_owner_page
    assert f"/policies/{policy_id}/exceptions/new" not in other_owner_page

    viewer_page = as_role("viewer").get(f"/policies/{policy_id}")
    assert viewer_page.status_code == 200
    assert 'id="policy-exceptions"' not in viewer_page.get_data(as_text=True)


def test_exceptions_page_filters_by_status(as_role, users, db):
    active_id = _active_exception(users, db)
    policy = _exception(db, active_id).policy
    pending_id = _request(users, policy, scope="Branch office printers")
    client = as_role("approver")

    active = client.get("/policy-exceptions?status=active").get_data(as_text=True)
    assert f'id="exception-row-{active_id}"' in active
    assert f'id="exception-row-{pending_id}"' not in active

    pending = client.get("/policy-exceptions?status=pending").get_data(as_text=True)
    assert f'id="exception-row-{pending_id}"' in pending
    assert f'id="exception-row-{active_id}"' not in pending

    everything = client.get("/policy-exceptions?status=bogus").get_data(as_text=True)
    assert f'id="exception-row-{active_id}"' in everything
    assert f'id="exception-row-{pending_id}"' in everything
    assert "No expired exceptions" in client.get("/policy-exceptions?status=expired").get_data(
        as_text=True
    )

    fragment = client.get("/policy-exceptions?status=active", headers={"HX-Request": "true"})
    assert fragment.get_data(as_text=True).lstrip().startswith("<section")


def test_exception_page_shows_its_history_and_execution(as_role, users, db):
    exception_id = _active_exception(users, db)
    execution_id = _exception(db, exception_id).execution_id

    page = as_role("approver").get(f"/policy-exceptions/{exception_id}").get_data(as_text=True)

    assert "requested an exception" in page
    assert f"approved by execution {execution_id}; decided by {users['approver'].name}" in page
    assert f"/executions/{execution_id}" in page
    assert "Revoke exception" not in page  # approvers do not revoke
    admin = as_role("admin")
    assert (
        "/audit?object_type=policy_exception"
        in admin.get(f"/policy-exceptions/{exception_id}").text
    )
    trail = admin.get(
        f"/audit?object_type=policy_exception&object_id={exception_id}", follow_redirects=True
    ).text
    assert f'href="/policy-exceptions/{exception_id}"' in trail
    assert "Revoke exception" in as_role("owner").get(
        f"/policy-exceptions/{exception_id}"
    ).get_data(as_text=True)


# ---------------------------------------------------------------- role checks


def test_viewers_reach_no_exception_route(as_role, users, db):
    exception_id = _active_exception(users, db)
    policy_id = _exception(db, exception_id).policy_id
    viewer = as_role("viewer")
    token = viewer.csrf_token()

    assert viewer.get("/policy-exceptions").status_code == 403
    # An exception a viewer may not read does not exist for them; the published policy they
    # do read, so asking for an exception to it is refused (403).
    assert viewer.get(f"/policy-exceptions/{exception_id}").status_code == 404
    assert viewer.get(f"/policies/{policy_id}/exceptions/new").status_code == 403
    assert (
        viewer.post(
            f"/policies/{policy_id}/exceptions/new", data=_form() | {"csrf_token": token}
        ).status_code
        == 403
    )
    revoke = viewer.post(
        f"/policy-exceptions/{exception_id}/revoke", data={"reason": "x", "csrf_token": token}
    )
    assert revoke.status_code == 404
    assert _exception(db, exception_id).status == "active"


def test_other_owners_and_approvers_cannot_request_or_revoke(as_role, users, db):
    exception_id = _active_exception(users, db)
    policy_id = _exception(db, exception_id).policy_id

    other = as_role("other_owner")
    assert other.get(f"/policies/{policy_id}/exceptions/new").status_code == 403
    assert (
        other.submit(
            f"/policies/{policy_id}/exceptions/new", _form(), token_from="/account"
        ).status_code
        == 403
    )
    assert (
        other.submit(
            f"/policy-exceptions/{exception_id}/revoke",
            {"reason": "Mine now"},
            token_from="/account",
        ).status_code
        == 403
    )
    approver = as_role("approver")
    assert approver.get(f"/policies/{policy_id}/exceptions/new").status_code == 403
    assert (
        approver.submit(
            f"/policy-exceptions/{exception_id}/revoke", {"reason": "No"}, token_from="/account"
        ).status_code
        == 403
    )
    with pytest.raises(NotAllowed):
        exceptions.revoke_exception(exception_id, actor=users["other_owner"], reason="No")
    db.session.rollback()
    assert _exception(db, exception_id).status == "active"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PolicyException)) == 1


def test_missing_exception_and_policy_are_404(as_role, users, db):
    client = as_role("admin")
    assert client.get("/policy-exceptions/999").status_code == 404
    assert client.get("/policies/999/exceptions/new").status_code == 404
    assert (
        client.submit(
            "/policy-exceptions/999/revoke", {"reason": "x"}, token_from="/account"
        ).status_code
        == 404
    )


def test_post_without_csrf_token_is_refused(as_role, users, db):
    _exception_workflow(users)
    policy = _published(users)

    response = as_role("owner").post(f"/policies/{policy.id}/exceptions/new", data=_form())

    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PolicyException)) == 0


# ---------------------------------------------------------------- the designer


def test_the_designer_offers_and_saves_the_exception_requested_trigger(as_role, users, db):
    from governance.engine.models import Workflow

    admin = as_role("admin")
    editor = admin.get("/workflows/new").get_data(as_text=True)
    assert '<option value="exception.requested"' in editor
    assert "Exception requested" in editor

    response = admin.submit(
        "/workflows/new",
        {
            "name": "Exception approval",
            "description": "",
            "trigger-type": "exception.requested",
            "cond-0-field": "policy.category",
            "cond-0-op": "equals",
            "cond-0-value": "Security",
            "stage-0-present": "1",
            "stage-0-step-0-key": "security",
            "stage-0-step-0-type": "approval",
            "stage-0-step-0-cfg-users": str(users["approver"].id),
            "stage-0-step-0-cfg-rule": "any",
            "stage-0-step-0-retry-attempts": "5",
            "stage-0-step-0-retry-backoff": "exponential",
            "stage-0-step-0-retry-base_seconds": "10",
            "op": "save",
        },
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    workflow = db.session.scalar(sa.select(Workflow))
    assert workflow.trigger_type == "exception.requested"
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Exception requested" in page


def test_retiring_a_policy_revokes_its_open_exceptions(users, db):
    active_id = _active_exception(users, db)
    policy = _exception(db, active_id).policy
    pending_id = _request(users, policy, scope="Branch office printers")

    policies.transition_policy(
        policy.id, "retired", actor=users["owner"], reason="Replaced by the ISMS"
    )

    for exception_id in (active_id, pending_id):
        exception = _exception(db, exception_id)
        assert exception.status == "revoked"
        assert exception.end_reason == "The policy was retired."
        assert _actions(db, exception_id)[-1] == "exception.revoked"
    assert _exception(db, pending_id).execution.status == "cancelled"
