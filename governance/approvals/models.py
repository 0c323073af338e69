"""Approval requests: one row per assignee (a user or a group) of an approval step run."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.extensions import db
from governance.timeutil import UTCDateTime, utcnow

REQUEST_STATUSES = ("pending", "approved", "rejected", "cancelled", "expired")


class ApprovalRequest(db.Model):
    __tablename__ = "approval_requests"
    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(REQUEST_STATUSES), name="known_status"),
        sa.Index("ix_approval_requests_user_status", "assignee_user_id", "status", "due_at"),
        sa.Index("ix_approval_requests_group_status", "assignee_group_id", "status", "due_at"),
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
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default="pending")
    due_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    escalated_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    decided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    decided_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    comment: so.Mapped[str | None] = so.mapped_column(sa.String(2000))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    step_run = so.relationship("StepRun")
    execution = so.relationship("Execution")
    assignee_user = so.relationship("User", foreign_keys=[assignee_user_id])
    assignee_group = so.relationship("Group")
    decided_by = so.relationship("User", foreign_keys=[decided_by_id])

    @property
    def assignee_label(self) -> str:
        if self.assignee_user is not None:
            return self.assignee_user.name
        return f"{self.assignee_group.name} (group)" if self.assignee_group else "—"
