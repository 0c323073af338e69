"""Handing an approval request to another approver, by its assignee or by an admin.

The request is re-pointed at the delegate, so only the last person in a chain can decide
(A → B → C: C decides once; A and B no longer can). Each hand-over is kept as a row for
"Delegated by me" and written to the audit trail.

A delegate must be someone who could decide: not the submitter nor an author of the change
(four-eyes), and nobody who already has a say in another request of the step (asked by name,
a member of its group, or its decider): they would count twice.
"""

from __future__ import annotations

import sqlalchemy as sa

from governance.approvals import eligibility
from governance.approvals.eligibility import is_assignee
from governance.approvals.models import ApprovalDelegation, ApprovalRequest
from governance.approvals.service import get_request
from governance.audit.service import record_event
from governance.auth.models import User, UserRole, group_members
from governance.dbutil import rowcount
from governance.errors import Conflict, DomainError, NotAllowed
from governance.extensions import db
from governance.notifications.service import notify_users
from governance.unit_of_work import unit_of_work

DECIDING_ROLES = ("approver", "admin")


def delegate_candidates(exclude_ids: set[int]) -> list[User]:
    """Enabled approvers and admins, for the delegate picker."""
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.is_enabled.is_(True),
                User.id.not_in(exclude_ids or {0}),
                User.id.in_(sa.select(UserRole.user_id).where(UserRole.role.in_(DECIDING_ROLES))),
            )
            .order_by(User.name)
        )
    )


@unit_of_work()
def delegate(request_id: int, *, actor: User, to_user_id: int | None, reason: str) -> User:
    """Hand a pending request to another approver; returns the delegate (commits)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why you are delegating this request.", field="reason")
    if len(reason) > 500:
        raise DomainError("The reason must be at most 500 characters.", field="reason")
    request = get_request(request_id)
    execution = request.execution
    if not (is_assignee(actor, request) or actor.is_admin):
        raise NotAllowed("Only the request's approver (or an admin) can delegate it.")
    if request.status != "pending" or execution.is_finished:
        raise Conflict("This request is no longer waiting for a decision.")
    delegate_user = db.session.get(User, to_user_id) if to_user_id else None
    if delegate_user is None or not delegate_user.is_enabled:
        raise DomainError("Choose an active approver to delegate to.", field="to_user_id")
    if delegate_user.id == actor.id or delegate_user.id == request.assignee_user_id:
        raise DomainError("Choose someone other than the current approver.", field="to_user_id")
    if delegate_user.id == execution.actor_id:
        raise DomainError(
            f"{delegate_user.name} submitted this change and cannot approve it (four-eyes rule).",
            field="to_user_id",
        )
    if not delegate_user.has_role(*DECIDING_ROLES):
        raise DomainError(f"{delegate_user.name} is not an approver.", field="to_user_id")
    if delegate_user.id in eligibility.change_authors(execution):
        raise DomainError(
            f"{delegate_user.name} wrote part of this change and cannot decide on it "
            "(four-eyes rule).",
            field="to_user_id",
        )
    if _has_say_in_step(request, delegate_user.id):
        raise DomainError(
            f"{delegate_user.name} already has a say in this step (another of its requests "
            "is theirs, their group's, or decided by them): one person counts once per step.",
            field="to_user_id",
        )
    # Conditional on the assignee we checked: two hand-overs at once cannot both win.
    moved = db.session.execute(
        sa.update(ApprovalRequest)
        .where(
            ApprovalRequest.id == request.id,
            ApprovalRequest.status == "pending",
            ApprovalRequest.assignee_user_id.is_not_distinct_from(request.assignee_user_id),
            ApprovalRequest.assignee_group_id.is_not_distinct_from(request.assignee_group_id),
        )
        .values(assignee_user_id=delegate_user.id, assignee_group_id=None)
        .execution_options(synchronize_session=False)
    )
    if rowcount(moved) != 1:
        raise Conflict("This request was decided or handed over a moment ago.")
    previous = request.assignee_label
    db.session.add(
        ApprovalDelegation(
            request_id=request.id,
            from_user_id=actor.id,
            to_user_id=delegate_user.id,
            reason=reason,
        )
    )
    step_key = request.step_run.step_key
    record_event(
        actor_id=actor.id,
        action="approval.delegated",
        object_type="approval_request",
        object_id=request.id,
        summary=f"{actor.name} handed the approval of step “{step_key}” (execution "
        f"{execution.id}) from {previous} to {delegate_user.name}: {reason}",
        changes={"assignee": {"before": previous, "after": delegate_user.name}},
    )
    notify_users(
        [delegate_user.id],
        subject=f"{actor.name} delegated an approval to you",
        body=f"Step “{step_key}” of “{execution.workflow.name}”. Reason: {reason}",
        link="/approvals",
    )
    return delegate_user


def _has_say_in_step(request: ApprovalRequest, user_id: int) -> bool:
    """Would the delegate then have two says in the same step? That would double a vote."""
    in_group = ApprovalRequest.assignee_group_id.in_(
        sa.select(group_members.c.group_id).where(group_members.c.user_id == user_id)
    )
    return bool(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ApprovalRequest)
            .where(
                ApprovalRequest.step_run_id == request.step_run_id,
                ApprovalRequest.id != request.id,
                sa.or_(
                    sa.and_(
                        ApprovalRequest.status == "pending",
                        sa.or_(ApprovalRequest.assignee_user_id == user_id, in_group),
                    ),
                    sa.and_(
                        ApprovalRequest.status.in_(eligibility.DECIDED),
                        sa.or_(
                            ApprovalRequest.decided_by_id == user_id,
                            ApprovalRequest.assignee_user_id == user_id,
                        ),
                    ),
                ),
            )
        )
    )
