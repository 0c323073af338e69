"""Acknowledgement campaigns: who must read a policy version, and who has."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.auth.models import User
from governance.extensions import Model
from governance.policies.models import Policy, PolicyRevision
from governance.timeutil import UTCDateTime, utcnow


class AckCampaign(Model):
    """One round of "please read this": opened when a major version is published."""

    __tablename__ = "ack_campaigns"
    __table_args__ = (sa.Index("ix_ack_campaigns_policy_created", "policy_id", "created_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    policy_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("policies.id", ondelete="CASCADE"))
    revision_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("policy_revisions.id", ondelete="CASCADE"), index=True
    )
    version_label: so.Mapped[str] = so.mapped_column(sa.String(20))
    audience: so.Mapped[str] = so.mapped_column(sa.String(500))  # "Everyone" or group names
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    due_on: so.Mapped[date]
    # Set when a later major version opens a new campaign; closed campaigns send no reminders.
    closed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    policy: so.Mapped[Policy] = so.relationship()
    revision: so.Mapped[PolicyRevision] = so.relationship()


class Acknowledgement(Model):
    """One person of a campaign's audience; acknowledged_at stays empty until they confirm."""

    __tablename__ = "acknowledgements"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "user_id", name="uq_acknowledgement_person"),
        sa.Index("ix_acknowledgements_user_open", "user_id", "acknowledged_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    campaign_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("ack_campaigns.id", ondelete="CASCADE")
    )
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    # Which text they confirmed (a minor version published meanwhile may be the one read).
    version_label: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    content_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    ip_address: so.Mapped[str | None] = so.mapped_column(sa.String(45))
    user_agent: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    # The largest "days after" reminder already sent (0 = none): each is sent once.
    reminder_level: so.Mapped[int] = so.mapped_column(default=0)

    campaign: so.Mapped[AckCampaign] = so.relationship()
    user: so.Mapped[User] = so.relationship()
