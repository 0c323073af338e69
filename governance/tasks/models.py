"""A task assigned to a user or a group, usually created by a workflow's create_task step."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.extensions import Model
from governance.timeutil import UTCDateTime, utcnow


class Task(Model):
    __tablename__ = "tasks"
    __table_args__ = (
        sa.Index("ix_tasks_assignee_done", "assignee_id", "done_at", "due_on"),
        sa.Index("ix_tasks_group_done", "assignee_group_id", "done_at", "due_on"),
        sa.CheckConstraint(
            "assignee_id IS NOT NULL OR assignee_group_id IS NOT NULL", name="has_assignee"
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    # A person, or a group whose members may each take it.
    assignee_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    assignee_group_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("groups.id"))
    due_on: so.Mapped[date | None]
    policy_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("policies.id"))
    # The step run that made it: unique, so a re-run of the step cannot create it twice.
    step_run_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("step_runs.id", ondelete="SET NULL"), unique=True
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    done_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    done_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    done_note: so.Mapped[str | None] = so.mapped_column(sa.String(2000))
    # The step that made it waits until the task is done before its stage may finish.
    blocks_step: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())

    assignee = so.relationship("User", foreign_keys=[assignee_id])
    assignee_group = so.relationship("Group")
    done_by = so.relationship("User", foreign_keys=[done_by_id])
    policy = so.relationship("Policy")
    # The run of the workflow step that made it; its execution is what the task page links to.
    step_run = so.relationship("StepRun")

    @property
    def is_done(self) -> bool:
        return self.done_at is not None
