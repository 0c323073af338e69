"""Audit events, hash-chained in commit order, and the chain's head.

Rows of audit_events are only ever inserted: database triggers refuse UPDATE and DELETE (see
migration 7e2c9a4b5d60). On SQLite, a batch_alter_table of audit_events rebuilds the table and
loses its triggers, so such a migration must create them again.
"""

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
    # Position in the chain: 1, 2, 3... in commit order, without gaps.
    seq: so.Mapped[int] = so.mapped_column(sa.BigInteger, unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    action: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    object_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    object_id: so.Mapped[int | None]
    summary: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    # Before/after values of the fields that changed, for reviewers and exports.
    changes: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    # SHA-256 hex of the previous event (empty for the first) and of this one, content included.
    prev_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    hash: so.Mapped[str] = so.mapped_column(sa.String(64))

    actor = so.relationship("User", lazy="joined")


class AuditChainHead(db.Model):
    """The chain's last position and hash, in one row.

    Appending locks this row first, so concurrent transactions take positions one after the
    other; and it records where the chain ends, so removing the newest events is detected.
    """

    __tablename__ = "audit_chain_head"
    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)

    ROW_ID = 1

    id: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    seq: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    last_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
