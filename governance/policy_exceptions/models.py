"""Time-boxed exceptions to a policy, approved through a workflow."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.extensions import Model
from governance.timeutil import UTCDateTime, utcnow


class PolicyExceptionStatus(StrEnum):
    PENDING = "pending"  # its approval workflow decides
    ACTIVE = "active"
    REJECTED = "rejected"
    EXPIRED = "expired"
    REVOKED = "revoked"


# What a person reads for each status (the list's filter, the notifications page).
STATUS_LABELS: dict[str, str] = {
    PolicyExceptionStatus.ACTIVE: "Active",
    PolicyExceptionStatus.PENDING: "Pending approval",
    PolicyExceptionStatus.EXPIRED: "Expired",
    PolicyExceptionStatus.REJECTED: "Rejected",
    PolicyExceptionStatus.REVOKED: "Revoked",
}

# The CHECK constraint's value list: the enum's plain strings.
EXCEPTION_STATUSES = tuple(status.value for status in PolicyExceptionStatus)
# The trigger of an exception's approval workflow: such an execution's subject is the exception.
APPROVAL_TRIGGER = "exception.requested"


class PolicyException(Model):
    __tablename__ = "policy_exceptions"
    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(EXCEPTION_STATUSES), name="known_status"),
        sa.Index("ix_policy_exceptions_status_expires", "status", "expires_on"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    policy_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("policies.id", ondelete="CASCADE"), index=True
    )
    # Who or what the exception covers ("Legacy payroll server", "Contractors in team X").
    scope: so.Mapped[str] = so.mapped_column(sa.String(200))
    justification: so.Mapped[str] = so.mapped_column(sa.Text)
    expires_on: so.Mapped[date]
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default=PolicyExceptionStatus.PENDING)
    requested_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    # The approval workflow's execution; its outcome decides the exception.
    execution_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("executions.id"), index=True
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    decided_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    ended_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    end_reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))

    policy = so.relationship("Policy")
    requested_by = so.relationship("User")
    execution = so.relationship("Execution")
