"""Evidence packs: a ZIP of a period's published versions and their records."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.extensions import Model
from governance.timeutil import UTCDateTime, utcnow


class EvidencePackStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


# The CHECK constraint's value list: the enum's plain strings.
PACK_STATUSES = tuple(status.value for status in EvidencePackStatus)


class EvidencePack(Model):
    __tablename__ = "evidence_packs"
    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(PACK_STATUSES), name="known_status"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    requested_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    period_start: so.Mapped[date]
    period_end: so.Mapped[date]
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default=EvidencePackStatus.QUEUED)
    # Progress for the page's bar: items (policy versions) done out of total.
    items_total: so.Mapped[int] = so.mapped_column(default=0)
    items_done: so.Mapped[int] = so.mapped_column(default=0)
    # Relative to the instance folder; the ZIP's own SHA-256 and size once done.
    file_path: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    sha256: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    size_bytes: so.Mapped[int | None]
    error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    finished_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    requested_by = so.relationship("User")

    @property
    def percent(self) -> int:
        if self.status == EvidencePackStatus.DONE:
            return 100
        return int(100 * self.items_done / self.items_total) if self.items_total else 0
