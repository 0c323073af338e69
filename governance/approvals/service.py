"""The decision service: the one way an approval request is decided (inbox, API, admin).

Rules: a request is decided once (a conditional UPDATE in the database decides races); the
person who triggered the execution never decides on it (four-eyes); decisions on ended
executions are refused; every decision writes an audit event in the same transaction.
"""

from __future__ import annotations

import sqlalchemy as sa

from governance.approvals.models import ApprovalRequest
from governance.audit.service import record_event
from governance.auth.models import User
from governance.engine import runtime
from governance.engine.models import StepRun
from governance.errors import Conflict, DomainError, NotAllowed
from governance.extensions import db
from governance.lookup import get_or_raise
from governance.timeutil import utcnow

DECISIONS = ("approved", "rejected")


def get_request(request_id: int) -> ApprovalRequest:
    return get_or_raise(ApprovalRequest, request_id, "No such approval request.")


def is_assignee(user: User, request: ApprovalRequest) -> bool:
    if request.assignee_user_id is not None:
        return request.assignee_user_id == user.id
    return any(group.id == request.assignee_group_id for group in user.groups)


def can_decide(user: User, request: ApprovalRequest) -> bool:
    return (
        request.status == "pending"
        and request.execution.actor_id != user.id
        and not request.execution.is_finished
        and is_assignee(user, request)
    )


def record_decision(request_id: int, *, user: User, decision: str, comment: str = "") -> str:
    """Decide one request; returns the step's resulting state ("waiting", "approved", ...)."""
    if decision not in DECISIONS:
        raise DomainError("Decide approve or reject.")
    comment = comment.strip()
    if decision == "rejected" and not comment:
        raise DomainError("Give a reason to reject.", field="comment")
    if len(comment) > 2000:
        raise DomainError("The comment must be at most 2000 characters.", field="comment")
    request = get_request(request_id)
    execution = request.execution
    if execution.actor_id == user.id:
        raise NotAllowed("You triggered this change, so you cannot decide on it (four-eyes rule).")
    if not is_assignee(user, request):
        raise NotAllowed("This approval request is not assigned to you or your groups.")
    if execution.is_finished:
        raise Conflict(f"This execution has already ended ({execution.status}).")
    decided = db.session.execute(
        sa.update(ApprovalRequest)
        .where(ApprovalRequest.id == request.id, ApprovalRequest.status == "pending")
        .values(status=decision, decided_by_id=user.id, decided_at=utcnow(), comment=comment)
        .execution_options(synchronize_session=False)
    )
    if decided.rowcount != 1:
        db.session.rollback()
        raise Conflict("This request has already been decided.")
    record_event(
        actor_id=user.id,
        action=f"approval.{decision}",
        object_type="approval_request",
        object_id=request.id,
        summary=f"{user.name} {decision} step “{request.step_run.step_key}” of execution "
        f"{execution.id}" + (f": {comment}" if comment else ""),
    )
    state = _settle_step(request.step_run_id)
    db.session.commit()
    return state


def _settle_step(step_run_id: int) -> str:
    """Apply the step's rule to its decisions so far; finish the step when it is decided."""
    step_run = db.session.get(StepRun, step_run_id)
    config = runtime.find_step(step_run.execution.version, step_run.step_key)["config"]
    # populate_existing: the conditional UPDATE above bypassed the identity map.
    rows = db.session.scalars(
        sa.select(ApprovalRequest)
        .where(ApprovalRequest.step_run_id == step_run_id)
        .execution_options(populate_existing=True)
    ).all()
    approved = [row for row in rows if row.status == "approved"]
    rejected = [row for row in rows if row.status == "rejected"]
    needed = {"any": 1, "all": len(rows), "quorum": config.get("quorum", 1)}[config["rule"]]
    output = {
        "decision": None,
        "approved_by": [row.decided_by_id for row in approved],
        "rejected_by": [row.decided_by_id for row in rejected],
    }
    if rejected:
        _withdraw_pending(step_run_id)
        output["decision"] = "rejected"
        if config.get("continue_on_reject"):
            runtime.complete_waiting_step(step_run_id, output)
        else:
            runtime.reject_at_step(step_run_id, output)
        return "rejected"
    if len(approved) >= needed:
        _withdraw_pending(step_run_id)
        output["decision"] = "approved"
        runtime.complete_waiting_step(step_run_id, output)
        return "approved"
    return "waiting"


def _withdraw_pending(step_run_id: int) -> None:
    db.session.execute(
        sa.update(ApprovalRequest)
        .where(ApprovalRequest.step_run_id == step_run_id, ApprovalRequest.status == "pending")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
