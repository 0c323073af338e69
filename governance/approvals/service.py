"""The decision service: the one way an approval request is decided (inbox, API, admin).

Rules: a request is decided once (a conditional UPDATE in the database decides races); the
person who triggered the execution never decides on it (four-eyes); decisions on ended
executions are refused; every decision writes an audit event in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from governance import visibility
from governance.approvals.models import ApprovalRequest
from governance.audit.service import record_event
from governance.auth.models import User
from governance.engine import runtime
from governance.engine.models import StepRun
from governance.errors import Conflict, DomainError, NotAllowed, NotFound
from governance.extensions import db
from governance.lookup import get_or_raise
from governance.policies import versions
from governance.timeutil import utcnow

DECISIONS = ("approved", "rejected")


def get_request(request_id: int) -> ApprovalRequest:
    return get_or_raise(ApprovalRequest, request_id, "No such approval request.")


def get_readable_request(request_id: int, user: User) -> ApprovalRequest:
    """The request if this user may read it (visibility's rule); otherwise 404 as if there
    were none. Whoever reads it but may not decide it is refused later, with a 403."""
    request = db.session.get(ApprovalRequest, request_id)
    if request is None or not visibility.can_read_approval_request(user, request):
        raise NotFound("No such approval request.")
    return request


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
    policy = execution.policy
    digest = versions.policy_content_hash(policy) if policy is not None else None
    decided = db.session.execute(
        sa.update(ApprovalRequest)
        .where(ApprovalRequest.id == request.id, ApprovalRequest.status == "pending")
        .values(
            status=decision,
            decided_by_id=user.id,
            decided_at=utcnow(),
            comment=comment,
            content_hash=digest,
        )
        .execution_options(synchronize_session=False)
    )
    if decided.rowcount != 1:
        db.session.rollback()
        raise Conflict(_why_closed(request_id))
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


def step_outcome(needed: int, statuses: list[str], *, by_count: bool) -> str:
    """Apply a step's rule to its requests' statuses: "approved", "rejected" or "waiting".

    `needed` is the approvals the rule asks for (any: 1, all: every request, quorum: N).
    Normally one rejection rejects the step. With `by_count` (the step "decides by count"),
    a rejection only rejects it once the approvals needed can no longer be reached.
    """
    approved = statuses.count("approved")
    rejected = statuses.count("rejected")
    pending = statuses.count("pending")
    if rejected and (not by_count or approved + pending < needed):
        return "rejected"
    if approved >= needed:
        return "approved"
    return "waiting"


def approvals_needed(config: dict, request_count: int) -> int:
    rule = config["rule"]
    if rule == "all":
        return request_count
    if rule == "quorum":
        return min(int(config.get("quorum") or 1), request_count)
    return 1


def _why_closed(request_id: int) -> str:
    status = db.session.scalar(
        sa.select(ApprovalRequest.status).where(ApprovalRequest.id == request_id)
    )
    if status == "cancelled":
        return "This request is closed: the step was already decided by other approvers."
    return "This request has already been decided."


@dataclass
class BulkResult:
    request_id: int
    ok: bool
    message: str


def decide_many(request_ids: list[int], *, user: User, decision: str, comment: str = ""):
    """Decide several requests with one comment; each is checked and recorded on its own.

    One refusal (four-eyes, already decided, not yours) does not undo the others.
    """
    results = []
    for request_id in dict.fromkeys(request_ids):  # each once, in the order given
        try:
            get_readable_request(request_id, user)  # one the user may not read: "no such"
            state = record_decision(request_id, user=user, decision=decision, comment=comment)
        except DomainError as error:
            db.session.rollback()
            results.append(BulkResult(request_id, False, error.message))
        else:
            results.append(BulkResult(request_id, True, STATE_MESSAGES[state]))
    return results


STATE_MESSAGES = {
    "waiting": "Recorded; the step still waits for other approvers.",
    "approved": "Approved; the workflow moves on.",
    "rejected": "Rejected.",
}


def _settle_step(step_run_id: int) -> str:
    """Apply the step's rule to its decisions so far; finish the step when it is decided."""
    step_run = db.session.get(StepRun, step_run_id)
    config = runtime.find_step(step_run.execution.version, step_run.step_key)["config"]
    # populate_existing: the conditional UPDATE above bypassed the identity map.
    rows = db.session.scalars(
        sa.select(ApprovalRequest)
        .where(
            ApprovalRequest.step_run_id == step_run_id,
            ApprovalRequest.status.in_(("pending", "approved", "rejected")),
        )
        .execution_options(populate_existing=True)
    ).all()
    outcome = step_outcome(
        approvals_needed(config, len(rows)),
        [row.status for row in rows],
        by_count=bool(config.get("decide_by_count")),
    )
    if outcome == "waiting":
        return "waiting"
    output = {
        "decision": outcome,
        "approved_by": [row.decided_by_id for row in rows if row.status == "approved"],
        "rejected_by": [row.decided_by_id for row in rows if row.status == "rejected"],
    }
    _withdraw_pending(step_run_id)
    if outcome == "approved" or config.get("continue_on_reject"):
        runtime.complete_waiting_step(step_run_id, output)
    else:
        runtime.reject_at_step(step_run_id, output)
    return outcome


def _withdraw_pending(step_run_id: int) -> None:
    db.session.execute(
        sa.update(ApprovalRequest)
        .where(ApprovalRequest.step_run_id == step_run_id, ApprovalRequest.status == "pending")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
