"""Decisions belong to the content they were made on.

Each decision stores the SHA-256 of the policy content the approver saw. When the policy's
content changes while an execution still waits on an approval step, the decisions made on
the old content stop counting: those requests are asked again, and the approvers told why.
"""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa

from governance.approvals.models import ApprovalRequest
from governance.approvals.reminders import INBOX_LINK
from governance.audit.service import record_event
from governance.auth.models import User
from governance.dbutil import rowcount
from governance.engine.models import Execution, StepRun
from governance.extensions import db
from governance.notifications.service import notify, user_ids_of_groups
from governance.policies import versions
from governance.policies.events import PolicyUpdated
from governance.policies.service import get_policy


def approvers_of_content(policy_id: int, digest: str) -> list[dict[str, Any]]:
    """Who approved exactly this content through a workflow: the approvals whose decision
    carries this hash, oldest decision first (policies' version freeze asks, via its source)."""
    rows = db.session.execute(
        sa.select(User.id, User.name, ApprovalRequest.decided_at, ApprovalRequest.execution_id)
        .join(User, User.id == ApprovalRequest.decided_by_id)
        .join(Execution, Execution.id == ApprovalRequest.execution_id)
        .where(
            Execution.policy_id == policy_id,
            ApprovalRequest.status == "approved",
            ApprovalRequest.content_hash == digest,
        )
        .order_by(ApprovalRequest.decided_at, ApprovalRequest.id)
    ).all()
    return [
        {
            "id": row.id,
            "name": row.name,
            "at": row.decided_at.isoformat() if row.decided_at else None,
            "via": f"execution {row.execution_id}",
        }
        for row in rows
    ]


def reask_on_policy_updated(event: PolicyUpdated) -> None:
    """PolicyUpdated's subscriber: the edit changed the content, so the decisions made on the
    old content stop counting (in the edit's transaction)."""
    policy = get_policy(event.policy_id)
    reask_stale_decisions(policy.id, versions.policy_content_hash(policy))


def reask_stale_decisions(policy_id: int, current_hash: str) -> list[int]:
    """Re-open decided requests of waiting steps whose decision applied to other content.

    No commit: runs in the transaction of the edit that changed the content. Returns the
    ids of the requests asked again.
    """
    stale = db.session.scalars(
        sa.select(ApprovalRequest)
        .join(Execution, Execution.id == ApprovalRequest.execution_id)
        .join(StepRun, StepRun.id == ApprovalRequest.step_run_id)
        .where(
            Execution.policy_id == policy_id,
            Execution.status.in_(("running", "waiting")),
            # An exception's approval is about the exception, not the policy's text.
            Execution.trigger_type != "exception.requested",
            StepRun.status == "waiting",
            ApprovalRequest.status.in_(("approved", "rejected")),
            sa.or_(
                ApprovalRequest.content_hash.is_(None),
                ApprovalRequest.content_hash != current_hash,
            ),
        )
        .order_by(ApprovalRequest.id)
    ).all()
    for request in stale:
        previous, decided_by = request.status, request.decided_by
        # Conditional: a decision landing at the same moment is not silently overwritten.
        reopened = db.session.execute(
            sa.update(ApprovalRequest)
            .where(ApprovalRequest.id == request.id, ApprovalRequest.status == previous)
            .values(
                status="pending",
                decided_by_id=None,
                decided_at=None,
                content_hash=None,
                comment=None,
            )
            .execution_options(synchronize_session=False)
        )
        if rowcount(reopened) != 1:
            continue
        who = decided_by.name if decided_by else "someone"
        record_event(
            actor_id=None,
            action="approval.reasked",
            object_type="approval_request",
            object_id=request.id,
            summary=f"{who}'s decision ({previous}) on step “{request.step_run.step_key}” of "
            f"execution {request.execution_id} no longer counts: the policy changed; asked again",
        )
        recipients = (
            [request.assignee_user_id]
            if request.assignee_user_id is not None
            else user_ids_of_groups([cast(int, request.assignee_group_id)])  # a user or a group
        )
        notify(
            recipients,
            subject=f"Please decide again: “{request.execution.policy.title}” changed",
            body="The policy changed after the decision on this approval, so that decision "
            "no longer counts. Please read the new text and decide again.",
            link=INBOX_LINK,
        )
    return [request.id for request in stale]
