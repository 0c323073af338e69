"""Who may read an approval request, and an execution: whoever may read the execution's
subject, and the people its approval requests ask (they must read to decide)."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance import visibility
from governance.approvals.models import ApprovalDelegation, ApprovalRequest
from governance.auth.models import User
from governance.auth.service import group_ids_of
from governance.engine.models import Execution
from governance.extensions import db
from governance.policies.visibility import can_read_policy_as_is


def party_to(user: User) -> sa.ColumnElement[bool]:
    """Requests the user was asked (directly or through a group), decided, or handed on."""
    groups = group_ids_of(user)
    conditions = [
        ApprovalRequest.assignee_user_id == user.id,
        ApprovalRequest.decided_by_id == user.id,
        ApprovalRequest.id.in_(
            sa.select(ApprovalDelegation.request_id).where(
                ApprovalDelegation.from_user_id == user.id
            )
        ),
    ]
    if groups:
        conditions.append(ApprovalRequest.assignee_group_id.in_(groups))
    return sa.or_(*conditions)


def is_party(user: User, request: ApprovalRequest) -> bool:
    if user.id in (request.assignee_user_id, request.decided_by_id):
        return True
    if request.assignee_group_id is not None and request.assignee_group_id in group_ids_of(user):
        return True
    return any(hand_over.from_user_id == user.id for hand_over in request.delegations)


def can_read_approval_request(user: User, request: ApprovalRequest) -> bool:
    """Whoever may read its execution, and whoever it was put to (they must read to decide)."""
    return is_party(user, request) or can_read_execution(user, request.execution)


def _subject_readable(user: User, execution: Execution) -> bool:
    rule = visibility.subject_rule(execution.trigger_type)
    if rule is not None:  # a subject of the trigger's own feature (an exception, say)
        return rule(user, execution)
    if execution.policy is not None:
        return can_read_policy_as_is(user, execution.policy)
    return True  # no subject (a manual, scheduled or webhook run): the run itself is all


# What can_read_execution reads beyond the execution's row: load it with the row (see
# governance.visibility.preload).
EXECUTION_READ_LOADS = (so.joinedload(Execution.policy),)


def can_read_execution(user: User, execution: Execution) -> bool:
    """An execution shows its subject (the policy's text, the exception's scope, the approvers'
    comments): readable by who may read that subject, and by the people its approvals ask."""
    if _subject_readable(user, execution):
        return True
    return (
        db.session.scalar(
            sa.select(ApprovalRequest.id)
            .where(ApprovalRequest.execution_id == execution.id, party_to(user))
            .limit(1)
        )
        is not None
    )
