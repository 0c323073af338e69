"""Who may read what: one rule per kind of object, as a check on one loaded object and, where a
list needs it, as the same rule in SQL. Pages, fragments, the API, lists, exports and every page
that embeds an object (an execution's subject, an inbox item's policy, a task's links) ask here.

An object the user may not read does not exist for them: 404, never 403 (a 403 would tell that
it exists). 403 is only for an object they may read but not change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from governance.approvals.models import ApprovalDelegation, ApprovalRequest
from governance.auth.models import User, group_members
from governance.engine.models import Execution
from governance.evidence.models import EvidencePack
from governance.extensions import db
from governance.notifications.models import Notification
from governance.policies.lifecycle import PUBLISHED, RETIRED
from governance.policies.models import Policy, PolicyRevision
from governance.policy_exceptions.models import APPROVAL_TRIGGER, PolicyException
from governance.tasks.models import Task

# Drafting and deciding roles read every policy, draft or not, and every exception.
READ_ALL_ROLES = frozenset({"admin", "owner", "approver"})


def can_read_drafts(user: User) -> bool:
    return user.has_role(*READ_ALL_ROLES)


def can_read_policy(user: User, policy: Policy) -> bool:
    """Readers without a drafting role read a policy with a live published version (and only
    that version, never a draft beside it); the others read every policy."""
    return can_read_drafts(user) or policy.has_live_version


def can_read_policy_as_is(user: User, policy: Policy) -> bool:
    """Whether the policy's current text (its row: title, body, changes) is readable, not only
    its live version: for readers without a drafting role, only while no draft is beside it."""
    return can_read_drafts(user) or policy.status == PUBLISHED


def readable_policies(user: User) -> sa.ColumnElement[bool] | None:
    """can_read_policy in SQL (None: no filter)."""
    if can_read_drafts(user):
        return None
    return sa.and_(Policy.published_revision.is_not(None), Policy.status != RETIRED)


def policy_face(user: User, policy: Policy) -> Policy | PolicyRevision:
    """What this user reads of the policy: the policy itself, or its live version when a draft
    is beside it that they may not read (title, category, tags and body come from it). For a
    policy the user may read; a draft never published is itself, so check can_read_policy."""
    if can_read_policy_as_is(user, policy) or policy.published_revision is None:
        return policy
    live = db.session.scalar(
        sa.select(PolicyRevision).where(
            PolicyRevision.policy_id == policy.id,
            PolicyRevision.number == policy.published_revision,
        )
    )
    return live or policy


def can_read_exceptions(user: User) -> bool:
    return user.has_role(*READ_ALL_ROLES)


def can_read_exception(user: User, exception: PolicyException) -> bool:
    return can_read_exceptions(user)


def _group_ids(user: User) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(group_members.c.group_id).where(group_members.c.user_id == user.id)
        )
    )


def _party_to(user: User) -> sa.ColumnElement[bool]:
    """Requests the user was asked (directly or through a group), decided, or handed on."""
    groups = _group_ids(user)
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
    if request.assignee_group_id is not None and request.assignee_group_id in _group_ids(user):
        return True
    return any(hand_over.from_user_id == user.id for hand_over in request.delegations)


def can_read_approval_request(user: User, request: ApprovalRequest) -> bool:
    """Whoever may read its execution, and whoever it was put to (they must read to decide)."""
    return is_party(user, request) or can_read_execution(user, request.execution)


def _subject_readable(user: User, execution: Execution) -> bool:
    if execution.trigger_type == APPROVAL_TRIGGER:
        return can_read_exceptions(user)
    if execution.policy is not None:
        return can_read_policy_as_is(user, execution.policy)
    return True  # no subject (a manual, scheduled or webhook run): the run itself is all


def can_read_execution(user: User, execution: Execution) -> bool:
    """An execution shows its subject (the policy's text, the exception's scope, the approvers'
    comments): readable by who may read that subject, and by the people its approvals ask."""
    if _subject_readable(user, execution):
        return True
    return (
        db.session.scalar(
            sa.select(ApprovalRequest.id)
            .where(ApprovalRequest.execution_id == execution.id, _party_to(user))
            .limit(1)
        )
        is not None
    )


def readable_executions(user: User) -> sa.ColumnElement[bool] | None:
    """can_read_execution in SQL, for lists (None: no filter)."""
    if can_read_drafts(user) and can_read_exceptions(user):
        return None
    published = sa.select(Policy.id).where(Policy.status == PUBLISHED)
    subject = sa.and_(
        Execution.trigger_type != APPROVAL_TRIGGER,
        sa.or_(Execution.policy_id.is_(None), Execution.policy_id.in_(published)),
    )
    asked = sa.select(ApprovalRequest.execution_id).where(_party_to(user))
    return sa.or_(subject, Execution.id.in_(asked))


def can_read_notification(user: User, notification: Notification) -> bool:
    return notification.user_id == user.id


def can_read_task(user: User, task: Task) -> bool:
    """The assignee, any member of the assignee group, or an admin (who may also close it)."""
    if task.assignee_id == user.id or user.is_admin:
        return True
    return task.assignee_group_id is not None and task.assignee_group_id in _group_ids(user)


def can_read_evidence_pack(user: User, pack: EvidencePack) -> bool:
    return user.is_admin or pack.requested_by_id == user.id


def readable_evidence_packs(user: User) -> sa.ColumnElement[bool] | None:
    return None if user.is_admin else EvidencePack.requested_by_id == user.id


def can_read_api_token(user: User, token: Any) -> bool:
    return token.user_id == user.id


_MAX_ID = 2**31 - 1  # the id columns are 32-bit on PostgreSQL: a larger id names nothing


def _loaded(model: type, ident: Any) -> Any:
    return db.session.get(model, ident) if isinstance(ident, int) and 0 < ident <= _MAX_ID else None


# A path argument names an object; the link opens only if every object it names is readable.
_PATH_OBJECTS = {
    "policy_id": (Policy, can_read_policy),
    "execution_id": (Execution, can_read_execution),
    "exception_id": (PolicyException, can_read_exception),
    "request_id": (ApprovalRequest, can_read_approval_request),
    "task_id": (Task, can_read_task),
    "notification_id": (Notification, can_read_notification),
    "pack_id": (EvidencePack, can_read_evidence_pack),
}


def can_open(user: User, view_args: Mapping[str, Any]) -> bool:
    """Whether every object a matched URL's path names (policy_id=3, execution_id=7...) is
    readable by this user: a notification or an email then links only to what they may open."""
    for name, value in view_args.items():
        known = _PATH_OBJECTS.get(name)
        if known is None:
            continue
        model, can_read = known
        row = _loaded(model, value)
        if row is None or not can_read(user, row):
            return False
    return True
