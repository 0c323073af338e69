"""Policies and their immutable revisions."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.extensions import Model, db
from governance.policies.lifecycle import STATUS_LABELS, STATUSES, PolicyStatus
from governance.timeutil import UTCDateTime, utcnow

MAJOR, MINOR = "major", "minor"
CHANGE_KINDS = (MAJOR, MINOR)
REVIEW_FREQUENCIES = ("monthly", "quarterly", "yearly", "custom")


def split_tags(tags: str) -> list[str]:
    """The tags column (comma-separated, normalised on save) as a list."""
    return [tag for tag in tags.split(",") if tag]


class Policy(Model):
    __tablename__ = "policies"
    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(STATUSES), name="known_status"),
        sa.Index("ix_policies_status_updated", "status", "updated_at", "id"),
        sa.Index("ix_policies_updated", "updated_at", "id"),
        sa.Index("ix_policies_title", "title", "id"),
        # The list filtered by category (and status), newest first, and its capped count.
        sa.Index("ix_policies_category_status_updated", "category", "status", "updated_at", "id"),
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
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default=PolicyStatus.DRAFT)
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
    # Who took the manual "Approve" step for the content under review (cleared when it is
    # sent back or revised): named among the version's approvers at publication.
    approved_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    # Chosen by whoever submits the draft: "major" or "minor" decides its version label.
    change_kind: so.Mapped[str] = so.mapped_column(sa.String(5), default=MAJOR)
    # Review cadence: monthly, quarterly, yearly or custom (every review_interval_days days),
    # counted from review_anchor_on, the first intended review date, so a late review does
    # not push every later date back.
    review_frequency: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    review_anchor_on: so.Mapped[date | None]
    # Set by the review scheduler when a published policy passes its review date; still
    # published, shown as "review overdue" until someone reviews it.
    review_overdue_since: so.Mapped[date | None]
    # The smallest "days before" reminder already sent for next_review_on (30, 7, 1, 0):
    # a conditional UPDATE on it sends each reminder once however often the scheduler runs.
    review_reminder_level: so.Mapped[int | None]
    # Acknowledgement: every major version is to be read by this audience.
    ack_required: so.Mapped[bool] = so.mapped_column(default=False)
    ack_everyone: so.Mapped[bool] = so.mapped_column(default=False)

    owner = so.relationship("User", foreign_keys=[owner_id], lazy="joined")
    submitted_by = so.relationship("User", foreign_keys=[submitted_by_id])
    reviewer = so.relationship("User", foreign_keys=[reviewer_id])
    ack_groups = so.relationship("Group", secondary="policy_ack_groups", order_by="Group.name")
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

    @property
    def has_live_version(self) -> bool:
        """A published version is readable: published, or being revised after publication."""
        return self.published_revision is not None and self.status != PolicyStatus.RETIRED

    def is_review_due(self, today: date | None = None) -> bool:
        today = today or utcnow().date()
        return (
            self.status == PolicyStatus.PUBLISHED
            and self.next_review_on is not None
            and self.next_review_on <= today
        )


policy_ack_groups = sa.Table(
    "policy_ack_groups",
    db.metadata,
    sa.Column("policy_id", sa.ForeignKey("policies.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("group_id", sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
)


class PolicyRevision(Model):
    """A full copy of the policy's content at one save. Never updated after insert, except
    once: publication freezes it as a version (label, content hash, approvers), after which
    the database refuses any change to it."""

    __tablename__ = "policy_revisions"
    __table_args__ = (
        sa.UniqueConstraint("policy_id", "number", name="uq_policy_revision_number"),
        sa.UniqueConstraint("policy_id", "version_label", name="uq_policy_revision_version"),
    )

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
    # Set once, when this revision is published ("1.0", "1.1", "2.0"); never changed after.
    version_label: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    content_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    change_kind: so.Mapped[str | None] = so.mapped_column(sa.String(5))
    published_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    published_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    # Who approved exactly this content, frozen at publication: [{"id", "name", "at", "via"}].
    approvers: so.Mapped[list | None] = so.mapped_column(sa.JSON)

    policy: so.Mapped[Policy] = so.relationship(back_populates="revisions")
    author = so.relationship("User", foreign_keys=[author_id], lazy="joined")
    owner = so.relationship("User", foreign_keys=[owner_id])
    published_by = so.relationship("User", foreign_keys=[published_by_id])

    @property
    def is_frozen(self) -> bool:
        return self.version_label is not None

    # "Published by" and "approved by" are two facts; the page, the PDF, the API and the
    # evidence pack all say them through these two properties, so they cannot disagree.
    @property
    def published_by_name(self) -> str:
        """Who published this version: the person, or "a workflow" when a step did it."""
        return self.published_by.name if self.published_by else "a workflow"

    @property
    def approver_names(self) -> list[str]:
        """Who approved exactly this content, frozen at publication, oldest decision first."""
        return [approver["name"] for approver in self.approvers or []]

    @property
    def tag_list(self) -> list[str]:
        return split_tags(self.tags)


class PolicyReview(Model):
    """One completed review: "reviewed, no changes" (or a revision that was published)."""

    __tablename__ = "policy_reviews"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    policy_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("policies.id", ondelete="CASCADE"), index=True
    )
    # Empty for a version a workflow published (no person reviewed it).
    reviewed_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    # The review date this review answered, and the one it set next.
    due_on: so.Mapped[date | None]
    next_review_on: so.Mapped[date | None]
    outcome: so.Mapped[str] = so.mapped_column(sa.String(20), default="no_changes")
    note: so.Mapped[str] = so.mapped_column(sa.String(1000), default="")

    reviewed_by = so.relationship("User")
