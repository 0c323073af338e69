"""Escalation leaves a trail: an audit event, a line on the execution timeline and on the inbox
item ("escalated to Security 5 min ago", the exact time on hover); a step with a deadline and
nobody to escalate to is a warning on the workflow page, and going overdue there says so instead
of escalating to nobody."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from governance.approvals.models import ApprovalRequest
from governance.audit.models import AuditEvent
from governance.engine import reconciler
from governance.engine.models import Execution
from governance.timeutil import utcnow
from tests.factories import make_workflow, step, submit_for_review

SUBMITTED = {"type": "policy.status_changed", "to_status": "in_review"}


def _review_workflow(users, config: dict):
    return make_workflow(
        users["admin"],
        trigger=SUBMITTED,
        stages=[[step("review", "approval", {"due_hours": 24} | config)]],
    )


def _go_overdue(db) -> ApprovalRequest:
    db.session.execute(sa.update(ApprovalRequest).values(due_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    assert reconciler.reconcile()["approvals_escalated"] == 1
    db.session.expire_all()
    return db.session.scalars(sa.select(ApprovalRequest)).one()


def _escalations(db) -> list[AuditEvent]:
    return db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "approval.escalated")
    ).all()


def test_an_escalation_is_audited_and_shown_on_the_timeline_and_the_inbox_item(db, users, as_role):
    security = users["security"].groups[0]
    _review_workflow(users, {"users": [users["approver"].id], "escalate_group_id": security.id})
    submit_for_review(users)
    request = _go_overdue(db)
    execution = db.session.scalars(sa.select(Execution)).one()
    # The exact time on hover, in the reader's zone (UTC here: no setting, no browser cookie).
    at = f'title="{request.escalated_at.day} {request.escalated_at:%b %Y, %H:%M} UTC">'

    assert request.escalated_to == "Security"
    [event] = _escalations(db)
    assert (event.object_type, event.object_id) == ("execution", execution.id)
    assert event.summary == (
        f"Step “review” of execution {execution.id} was overdue: escalated to Security"
    )
    assert reconciler.reconcile()["approvals_escalated"] == 0
    assert len(_escalations(db)) == 1  # once, however often the reconciler looks

    shown = "escalated to <strong>Security</strong> <time datetime="
    timeline = as_role("admin").get(f"/executions/{execution.id}").get_data(as_text=True)
    assert shown in timeline and at in timeline
    inbox = as_role("approver").get("/approvals").get_data(as_text=True)
    assert shown in inbox and at in inbox


def test_a_step_without_an_escalation_target_warns_on_the_workflow_page(db, users, as_role):
    workflow = _review_workflow(users, {"users": [users["approver"].id]})
    warned = as_role("admin").get(f"/workflows/{workflow.id}").get_data(as_text=True)
    assert 'id="no-escalation-review"' in warned
    assert "has a deadline but no escalation target" in warned

    submit_for_review(users)
    request = _go_overdue(db)
    execution = db.session.scalars(sa.select(Execution)).one()

    assert request.escalated_to is None
    [event] = _escalations(db)
    assert event.summary.endswith("it has no escalation target, nobody was told")
    timeline = as_role("admin").get(f"/executions/{execution.id}").get_data(as_text=True)
    assert "; no escalation target" in timeline and "escalated to" not in timeline


def test_a_step_with_a_target_or_no_deadline_gives_no_warning(db, users, as_role):
    admin = as_role("admin")
    targeted = _review_workflow(
        users, {"users": [users["approver"].id], "escalate_user_id": users["security"].id}
    )
    no_deadline = _review_workflow(users, {"users": [users["approver"].id], "due_hours": 0})
    for workflow in (targeted, no_deadline):
        html = admin.get(f"/workflows/{workflow.id}").get_data(as_text=True)
        assert "no escalation target" not in html
