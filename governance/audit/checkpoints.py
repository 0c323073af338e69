"""Reading the stored audit checkpoints, and the key that signs them (from configuration only)."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from flask import current_app

from governance.audit import signing
from governance.audit.models import AuditCheckpoint
from governance.extensions import db


def signing_key() -> bytes:
    config = current_app.config
    return signing.signing_key(config["AUDIT_CHECKPOINT_KEY"], config["SECRET_KEY"])


def _as_checkpoint(row) -> signing.Checkpoint:
    return signing.Checkpoint(row.seq, row.head_hash, row.created_at, row.signature)


_COLUMNS = (
    AuditCheckpoint.seq,
    AuditCheckpoint.head_hash,
    AuditCheckpoint.created_at,
    AuditCheckpoint.signature,
)


def stored_checkpoints() -> list[signing.Checkpoint]:
    """Every stored checkpoint, oldest first (one an hour at most: a few thousand a year)."""
    rows = db.session.execute(sa.select(*_COLUMNS).order_by(AuditCheckpoint.seq))
    return [_as_checkpoint(row) for row in rows]


def latest_checkpoint() -> signing.Checkpoint | None:
    row = db.session.execute(
        sa.select(*_COLUMNS).order_by(AuditCheckpoint.seq.desc()).limit(1)
    ).one_or_none()
    return _as_checkpoint(row) if row else None


def recent_checkpoints(limit: int) -> list[signing.Checkpoint]:
    """The newest `limit` checkpoints, newest first (the audit page's list)."""
    rows = db.session.execute(
        sa.select(*_COLUMNS).order_by(AuditCheckpoint.seq.desc()).limit(limit)
    )
    return [_as_checkpoint(row) for row in rows]


def checkpoint_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditCheckpoint)) or 0


def download_lines() -> Iterator[str]:
    """Every checkpoint as a JSON line with its signature, oldest first: the file that
    `flask verify-audit --checkpoints FILE` reads back."""
    for checkpoint in stored_checkpoints():
        yield signing.to_line(checkpoint) + "\n"
