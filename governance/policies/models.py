"""Policies and their immutable revisions."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.extensions import db
from governance.policies.lifecycle import PUBLISHED, STATUS_LABELS, STATUSES
from governance.timeutil import UTCDateTime, utcnow


def split_tags(tags: str) -> list[str]:
    """The tags column (comma-separated, normalised on save) as a list."""
    return [tag for tag in tags.split(",") if tag]


class Policy(db.Model):
    __tablename__ = "policies"
    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(STATUSES), name="known_status"),
        sa.Index("ix_policies_status_updated", "status", "updated_at", "id"),
        sa.Index("ix_policies_updated", "updated_at", "id"),
        sa.Index("ix_policies_title", "title", "id"),
        # Trigram indexes let PostgreSQL answer "title or text contains ..." (ILIKE '%q%')
        # without reading every policy; other databases skip them.
        *(
            sa.Index(
                f"ix_policies_{column}_trgm",
                column,
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
                info={"only_on": "postgresql"},
            ).ddl_if(dialect="postgresql")
            for column in ("title", "body")
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    category: so.Mapped[str] = so.mapped_column(sa.String(80), index=True)
    # Normalised: lower case, sorted, comma separated, so "contains" matching is simple.
    tags: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    owner_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    # Set by workflows (assign step) or admins: who reviews the policy besides approvers.
    reviewer_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default="draft")
    review_interval_days: so.Mapped[int | None]
    next_review_on: so.Mapped[date | None] = so.mapped_column(index=True)
    # Who last submitted it for review: that person may never approve it (four-eyes).
    submitted_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    retired_reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    current_revision: so.Mapped[int] = so.mapped_column(default=1)
    # The revision that was last published: what approvers compare a change under review with.
    published_revision: so.Mapped[int | None]
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    status_changed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    # Optimistic locking: an UPDATE from a stale copy matches no row and is refused.
    version: so.Mapped[int] = so.mapped_column(default=1)

    owner = so.relationship("User", foreign_keys=[owner_id], lazy="joined")
    submitted_by = so.relationship("User", foreign_keys=[submitted_by_id])
    reviewer = so.relationship("User", foreign_keys=[reviewer_id])
    revisions: so.WriteOnlyMapped[PolicyRevision] = so.relationship(
        back_populates="policy", order_by="PolicyRevision.number.desc()", passive_deletes=True
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads a dict

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def tag_list(self) -> list[str]:
        return split_tags(self.tags)

    def is_review_due(self, today: date | None = None) -> bool:
        today = today or utcnow().date()
        return (
            self.status == PUBLISHED
            and self.next_review_on is not None
            and self.next_review_on <= today
        )


class PolicyRevision(db.Model):
    """A full copy of the policy's content at one save. Never updated after insert."""

    __tablename__ = "policy_revisions"
    __table_args__ = (sa.UniqueConstraint("policy_id", "number", name="uq_policy_revision_number"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    policy_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("policies.id", ondelete="CASCADE"))
    number: so.Mapped[int]
    author_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    summary: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    category: so.Mapped[str] = so.mapped_column(sa.String(80))
    tags: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    owner_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    review_interval_days: so.Mapped[int | None]
    next_review_on: so.Mapped[date | None]

    policy: so.Mapped[Policy] = so.relationship(back_populates="revisions")
    author = so.relationship("User", foreign_keys=[author_id], lazy="joined")
    owner = so.relationship("User", foreign_keys=[owner_id])

    @property
    def tag_list(self) -> list[str]:
        return split_tags(self.tags)
