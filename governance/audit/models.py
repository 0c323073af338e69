"""Audit events. Rows are only ever inserted, never updated or deleted."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.extensions import db
from governance.timeutil import UTCDateTime, utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_object", "object_type", "object_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    action: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    object_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    object_id: so.Mapped[int | None]
    summary: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    # Before/after values of the fields that changed, for reviewers and exports.
    changes: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)

    actor = so.relationship("User", lazy="joined")
