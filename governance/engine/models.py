"""Workflows, their immutable versions, and the executions and step runs that run them.

The database is the truth, Huey only carries step ids. A version's definition never changes
after insert.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.engine.lifecycle import (
    FINISHED_EXECUTION_STATUSES,
    FINISHED_STEP_STATUSES,
    ExecutionStatus,
    StepRunStatus,
    WorkflowStatus,
)
from governance.extensions import Model
from governance.timeutil import UTCDateTime, utcnow

# The CHECK constraints' and the API's value lists: the enums' plain strings.
WORKFLOW_STATUSES = tuple(status.value for status in WorkflowStatus)
EXECUTION_STATUSES = tuple(status.value for status in ExecutionStatus)
STEP_STATUSES = tuple(status.value for status in StepRunStatus)


class Workflow(Model):
    __tablename__ = "workflows"
    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(WORKFLOW_STATUSES), name="known_status"),
        # Dispatch looks up active workflows by trigger on every policy change.
        sa.Index("ix_workflows_status_trigger", "status", "trigger_type"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120), unique=True)
    description: so.Mapped[str] = so.mapped_column(sa.String(1000), default="")
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default=WorkflowStatus.DRAFT)
    # The trigger of the active version, copied here so dispatch needs no JSON search.
    trigger_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    active_version_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("workflow_versions.id", use_alter=True)
    )
    latest_version: so.Mapped[int] = so.mapped_column(default=0)
    # Inbound webhook trigger: callers sign their requests with this (Standard Webhooks).
    webhook_secret: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    # Whether the older X-Steward-Signature (no id, no timestamp: replayable) is still
    # accepted. Off for new workflows; the migration turned it on for existing webhook ones.
    webhook_legacy_signature: so.Mapped[bool] = so.mapped_column(
        default=False, server_default=sa.false()
    )
    # Outbound webhook steps sign deliveries with `signing_secret`; after a rotation the
    # previous secret signs too until `previous_signing_secret_expires_at` (see secrets.py).
    signing_secret: so.Mapped[str] = so.mapped_column(sa.String(100))
    previous_signing_secret: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    previous_signing_secret_expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    next_run_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime(), index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))

    active_version: so.Mapped[WorkflowVersion | None] = so.relationship(
        foreign_keys=[active_version_id], post_update=True
    )


class WorkflowVersion(Model):
    __tablename__ = "workflow_versions"
    __table_args__ = (
        sa.UniqueConstraint("workflow_id", "number", name="uq_workflow_version_number"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    workflow_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("workflows.id", ondelete="CASCADE"), index=True
    )
    number: so.Mapped[int]
    # {"trigger": {...}, "conditions": [...], "stages": [{"steps": [...]}]}; see definition.py
    definition: so.Mapped[dict] = so.mapped_column(sa.JSON)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))

    workflow: so.Mapped[Workflow] = so.relationship(foreign_keys=[workflow_id])
    created_by = so.relationship("User")

    def step_definitions(self) -> list[tuple[int, int, dict[str, Any]]]:
        """(stage index, position, step) for every step of this version, in order."""
        return [
            (stage_index, position, step)
            for stage_index, stage in enumerate(self.definition["stages"])
            for position, step in enumerate(stage["steps"])
        ]

    def find_step(self, key: str) -> dict[str, Any]:
        return next(step for _, _, step in self.step_definitions() if step["key"] == key)


class Execution(Model):
    __tablename__ = "executions"
    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(EXECUTION_STATUSES), name="known_status"),
        sa.Index("ix_executions_workflow_created", "workflow_id", "created_at", "id"),
        sa.Index("ix_executions_status_created", "status", "created_at", "id"),
        sa.Index("ix_executions_created", "created_at", "id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    workflow_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("workflows.id"))
    version_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("workflow_versions.id"))
    policy_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("policies.id"), index=True)
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default="pending")
    trigger_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    trigger_data: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    # Who caused it (the submitter of the change): never an approver of it (four-eyes).
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    current_stage: so.Mapped[int] = so.mapped_column(default=0)
    error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    finished_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    workflow = so.relationship("Workflow", lazy="joined")
    version = so.relationship("WorkflowVersion")
    policy = so.relationship("Policy")
    actor = so.relationship("User")
    step_runs: so.Mapped[list[StepRun]] = so.relationship(
        back_populates="execution", order_by="(StepRun.stage_index, StepRun.position)"
    )

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_EXECUTION_STATUSES


class StepRun(Model):
    __tablename__ = "step_runs"
    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(STEP_STATUSES), name="known_status"),
        sa.UniqueConstraint("execution_id", "step_key", name="uq_step_run_key"),
        # The reconciler's scans: due retries/waits, stale queue entries, expired leases.
        sa.Index("ix_step_runs_status_next", "status", "next_attempt_at"),
        sa.Index("ix_step_runs_status_lease", "status", "lease_until"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    execution_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("executions.id", ondelete="CASCADE"), index=True
    )
    stage_index: so.Mapped[int]
    position: so.Mapped[int] = so.mapped_column(default=0)
    step_key: so.Mapped[str] = so.mapped_column(sa.String(60))
    step_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default="pending")
    attempt: so.Mapped[int] = so.mapped_column(default=0)
    max_attempts: so.Mapped[int] = so.mapped_column(default=5)
    next_attempt_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    queued_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    lease_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    started_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    finished_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    output: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    error: so.Mapped[str | None] = so.mapped_column(sa.Text)

    execution: so.Mapped[Execution] = so.relationship(back_populates="step_runs")
    attempts: so.Mapped[list[StepAttempt]] = so.relationship(
        order_by="StepAttempt.number", cascade="all, delete-orphan"
    )

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STEP_STATUSES


class StepAttempt(Model):
    """One try of a step run: when, how long, and how it ended (with the traceback)."""

    __tablename__ = "step_attempts"
    __table_args__ = (sa.UniqueConstraint("step_run_id", "number", name="uq_step_attempt_number"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    step_run_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("step_runs.id", ondelete="CASCADE")
    )
    number: so.Mapped[int]
    started_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    finished_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    outcome: so.Mapped[str] = so.mapped_column(sa.String(20), default="running")
    error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    traceback: so.Mapped[str | None] = so.mapped_column(sa.Text)
    consumer: so.Mapped[str | None] = so.mapped_column(sa.String(120))
