"""Approval requests: one row per assignee (a user or a group) of an approval step run."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.extensions import Model
from governance.timeutil import UTCDateTime, utcnow


class ApprovalRequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


# The CHECK constraint's and the API's value list: the enum's plain strings.
REQUEST_STATUSES = tuple(status.value for status in ApprovalRequestStatus)


class ApprovalRequest(Model):
    __tablename__ = "approval_requests"
    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(REQUEST_STATUSES), name="known_status"),
        sa.Index("ix_approval_requests_user_status", "assignee_user_id", "status", "due_at"),
        sa.Index("ix_approval_requests_group_status", "assignee_group_id", "status", "due_at"),
        # The inbox's Decided tab: counted and listed newest first without reading every request.
        sa.Index("ix_approval_requests_decided_by", "decided_by_id", "decided_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    step_run_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("step_runs.id", ondelete="CASCADE"), index=True
    )
    execution_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("executions.id", ondelete="CASCADE"), index=True
    )
    assignee_user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    assignee_group_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("groups.id"))
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default=ApprovalRequestStatus.PENDING)
    due_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    escalated_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    # Whom the overdue request was escalated to, named as at that moment ("Security");
    # empty when escalated_at is set but the step had no escalation target.
    escalated_to: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    decided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    decided_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    comment: so.Mapped[str | None] = so.mapped_column(sa.String(2000))
    # The policy content (SHA-256) the decision applied to: a decision on other content
    # no longer counts, and the approver is asked again.
    content_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    # The last "remind" nudge from the requester; reminders are limited to one an hour.
    reminded_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    step_run = so.relationship("StepRun")
    execution = so.relationship("Execution")
    assignee_user = so.relationship("User", foreign_keys=[assignee_user_id])
    assignee_group = so.relationship("Group")
    decided_by = so.relationship("User", foreign_keys=[decided_by_id])
    delegations: so.Mapped[list[ApprovalDelegation]] = so.relationship(
        back_populates="request", order_by="ApprovalDelegation.id"
    )

    @property
    def assignee_label(self) -> str:
        if self.assignee_user is not None:
            return self.assignee_user.name
        return f"{self.assignee_group.name} (group)" if self.assignee_group else "—"


class ApprovalDelegation(Model):
    """One hand-over of a request: from its assignee (or an admin) to another approver.

    The request itself is re-pointed at the delegate, so only the end of a chain can decide;
    these rows keep the chain for "Delegated by me" and the audit trail.
    """

    __tablename__ = "approval_delegations"
    __table_args__ = (sa.Index("ix_approval_delegations_from", "from_user_id", "request_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    request_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("approval_requests.id", ondelete="CASCADE"), index=True
    )
    # Who handed it over (the assignee, or the admin who reassigned it) and to whom.
    from_user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    to_user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    reason: so.Mapped[str] = so.mapped_column(sa.String(500))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    request: so.Mapped[ApprovalRequest] = so.relationship(back_populates="delegations")
    from_user = so.relationship("User", foreign_keys=[from_user_id])
    to_user = so.relationship("User", foreign_keys=[to_user_id])
