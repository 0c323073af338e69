"""The decision service: the one way an approval request is decided (inbox, API, admin).

Rules: a request is decided once (a conditional UPDATE in the database decides races); the
person who triggered the execution and everyone who wrote part of the change never decide
on it (four-eyes); one person decides at most one request of a step, and none of a step kept
apart from one they decided (one step per person, "distinct from step X"), even from two tabs
at once (the execution is locked, and the same UPDATE checks it); decisions on ended executions are
refused; every decision writes an audit event in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.approvals import eligibility, visibility
from governance.approvals.models import ApprovalRequest
from governance.audit.service import record_event
from governance.auth.models import User
from governance.dbutil import rowcount
from governance.engine import advance
from governance.engine.models import Execution, StepRun
from governance.errors import Conflict, DomainError, NotFound
from governance.extensions import db
from governance.lookup import get_or_raise
from governance.policies import versions
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work

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
    return eligibility.is_assignee(user, request)


def can_decide(user: User, request: ApprovalRequest) -> bool:
    return eligibility.why_not(user, request) is None


def decide_refusal(user: User, request: ApprovalRequest) -> str:
    """Why an assignee of the request may not decide it ("" if they may, or are none)."""
    if not is_assignee(user, request):
        return ""
    refused = eligibility.why_not(user, request)
    return refused.message if refused is not None else ""


# Another request of the same step, or of a step kept apart from it, already decided by this
# person: evaluated inside the UPDATE itself, so on SQLite (one writer at a time) the check
# and the write are one step.
_other = so.aliased(ApprovalRequest)
_apart = so.aliased(ApprovalRequest)


def _decided_in_steps_apart(request: ApprovalRequest, user: User) -> sa.ColumnElement[bool]:
    keys = eligibility.kept_apart(request)
    if not keys:
        return sa.true()
    return ~sa.exists().where(
        _apart.execution_id == request.execution_id,
        _apart.decided_by_id == user.id,
        _apart.status.in_(eligibility.DECIDED),
        _apart.step_run_id.in_(
            sa.select(StepRun.id).where(
                StepRun.execution_id == request.execution_id, StepRun.step_key.in_(keys)
            )
        ),
    )


@unit_of_work()
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
    # Decisions on one execution take turns (PostgreSQL; SQLite has one writer anyway): the
    # same person deciding two requests of a step from two tabs, or two approvers completing
    # a quorum together, each see the other's decision. The execution row, locked first as
    # the runtime's fail and advance paths do, so no lock order is reversed; NO KEY UPDATE,
    # as there: approval requests hold KEY SHARE locks on it through their foreign key.
    db.session.execute(
        sa.select(Execution.id)
        .where(Execution.id == request.execution_id)
        .with_for_update(key_share=True)
    )
    refused = eligibility.why_not(user, request)
    if refused is not None:
        raise refused
    policy = execution.policy
    digest = versions.policy_content_hash(policy) if policy is not None else None
    decided = db.session.execute(
        sa.update(ApprovalRequest)
        .where(
            ApprovalRequest.id == request.id,
            ApprovalRequest.status == "pending",
            ~sa.exists().where(
                _other.step_run_id == request.step_run_id,
                _other.decided_by_id == user.id,
                _other.status.in_(eligibility.DECIDED),
            ),
            _decided_in_steps_apart(request, user),
        )
        .values(
            status=decision,
            decided_by_id=user.id,
            decided_at=utcnow(),
            comment=comment,
            content_hash=digest,
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(decided) != 1:
        # Say why from what landed first (the UPDATE did not refresh the loaded rows).
        db.session.expire_all()
        raise Conflict(_why_not_recorded(request_id, user))
    record_event(
        actor_id=user.id,
        action=f"approval.{decision}",
        object_type="approval_request",
        object_id=request.id,
        summary=f"{user.name} {decision} step “{request.step_run.step_key}” of execution "
        f"{execution.id}" + (f": {comment}" if comment else ""),
    )
    state = _settle_step(request.step_run_id)
    return state


def step_outcome(needed: int, statuses: list[str], *, by_count: bool) -> str:
    """Apply a step's rule to its requests' statuses: "approved", "rejected" or "waiting".

    `needed` is the approvals the rule asks for (approvals_needed). A "covered" request
    (nobody can still decide it) counts neither as an approval nor as one still to come.
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


def approvals_needed(config: dict, request_count: int, covered: int = 0) -> int:
    """How many different people must approve.

    any: one. quorum N: N different people (at most one per request); a quorum is never
    lowered because fewer people can decide: the step waits for an admin to reassign.
    all: every request, each by a different person, except the `covered` ones, whose only
    possible deciders already counted in the step (eligibility.covered_request_ids).
    """
    rule = config["rule"]
    if rule == "all":
        return max(request_count - covered, 1)
    if rule == "quorum":
        return min(int(config.get("quorum") or 1), request_count)
    return 1


def _why_not_recorded(request_id: int, user: User) -> str:
    status = db.session.scalar(
        sa.select(ApprovalRequest.status).where(ApprovalRequest.id == request_id)
    )
    if status == "pending":
        # Still open, so the UPDATE's other conditions failed: a decision of this person on
        # another request of the step, or of a step kept apart, landed first (a second tab).
        refused = eligibility.why_not(user, get_request(request_id))
        return refused.message if refused is not None else eligibility.ALREADY_DECIDED_STEP
    return eligibility.closed_message(status)


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
        except DomainError as error:  # that request's unit of work rolled back, alone
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
    """Apply the step's rule to its decisions so far; finish the step when it is decided.

    Each request is decided by a different person (eligibility), so the rule counts people.
    A pending request nobody can still decide (its possible deciders all counted already) is
    not waited for: it lowers what "all" asks and cannot bring an approval to a quorum.
    """
    step_run = db.session.get_one(StepRun, step_run_id)
    execution = step_run.execution
    config = execution.version.find_step(step_run.step_key)["config"]
    rows = eligibility.step_requests(step_run_id)
    covered = eligibility.covered_request_ids(
        rows, eligibility.barred_ids(execution, eligibility.change_authors(execution))
    )
    outcome = step_outcome(
        approvals_needed(config, len(rows), len(covered)),
        ["covered" if row.id in covered else row.status for row in rows],
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
        advance.complete_waiting_step(step_run_id, output)
    else:
        advance.reject_at_step(step_run_id, output)
    return outcome


def _withdraw_pending(step_run_id: int) -> None:
    db.session.execute(
        sa.update(ApprovalRequest)
        .where(ApprovalRequest.step_run_id == step_run_id, ApprovalRequest.status == "pending")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
