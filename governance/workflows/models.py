"""Workflows and their immutable versions. A version's definition never changes after insert."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.extensions import db
from governance.timeutil import UTCDateTime, utcnow


class WorkflowStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    INACTIVE = "inactive"


# The CHECK constraint's and the API's value list: the enum's plain strings.
WORKFLOW_STATUSES = tuple(status.value for status in WorkflowStatus)


class Workflow(db.Model):
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


class WorkflowVersion(db.Model):
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


class InboundWebhookMessage(db.Model):
    """A Standard Webhooks message id a webhook workflow accepted: a second request with the
    same id is a replay. Kept as long as its timestamp could still pass the window."""

    __tablename__ = "inbound_webhook_messages"

    workflow_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True
    )
    message_id: so.Mapped[str] = so.mapped_column(sa.String(255), primary_key=True)
    execution_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("executions.id", ondelete="CASCADE")
    )
    received_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow, index=True)
