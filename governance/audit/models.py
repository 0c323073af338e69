"""Audit events, hash-chained in commit order, the chain's head and its signed checkpoints.

Rows of audit_events and audit_checkpoints are only ever inserted: database triggers refuse
UPDATE, DELETE and TRUNCATE, and the head only moves forward (migrations 7e2c9a4b5d60 and
58a6e935b245). On SQLite, a batch_alter_table of these tables rebuilds the table and loses its
triggers, so such a migration must create them again.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.extensions import Model
from governance.timeutil import UTCDateTime, utcnow


class AuditEvent(Model):
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


class AuditChainHead(Model):
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


class AuditCheckpoint(Model):
    """The chain's length and head hash at a moment, signed with a key kept outside the database.

    A copy lives in the log and in downloads, so a chain cut shorter than a checkpoint, even
    with this table emptied too, fails `flask verify-audit`.
    """

    __tablename__ = "audit_checkpoints"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # The chain's length when signed (the last event's position); one checkpoint per length.
    seq: so.Mapped[int] = so.mapped_column(sa.BigInteger, unique=True)
    head_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    # HMAC-SHA256 (hex) of seq, head_hash and created_at: see governance.audit.signing.
    signature: so.Mapped[str] = so.mapped_column(sa.String(64))
