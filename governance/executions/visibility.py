"""Who may read an execution: approvals' rule (whoever may read its subject, and the people
its requests ask) on one execution, and the same rule in SQL for lists."""

from __future__ import annotations

import sqlalchemy as sa

from governance.approvals.models import ApprovalRequest
from governance.approvals.visibility import can_read_execution, party_to
from governance.auth.models import User
from governance.engine.models import Execution
from governance.policies.lifecycle import PUBLISHED
from governance.policies.models import Policy
from governance.policies.visibility import can_read_drafts
from governance.policy_exceptions.models import APPROVAL_TRIGGER
from governance.policy_exceptions.visibility import can_read_exceptions

__all__ = ["can_read_execution", "readable_executions"]


def readable_executions(user: User) -> sa.ColumnElement[bool] | None:
    """can_read_execution in SQL, for lists (None: no filter)."""
    if can_read_drafts(user) and can_read_exceptions(user):
        return None
    published = sa.select(Policy.id).where(Policy.status == PUBLISHED)
    subject = sa.and_(
        Execution.trigger_type != APPROVAL_TRIGGER,
        sa.or_(Execution.policy_id.is_(None), Execution.policy_id.in_(published)),
    )
    asked = sa.select(ApprovalRequest.execution_id).where(party_to(user))
    return sa.or_(subject, Execution.id.in_(asked))
