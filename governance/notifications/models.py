"""An in-app notification for one user."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.extensions import Model
from governance.timeutil import UTCDateTime, utcnow


class Notification(Model):
    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_read", "user_id", "read_at", "id"),
        # One notification per user per step run: a re-run cannot notify twice.
        sa.UniqueConstraint("step_run_id", "user_id", name="uq_notification_step_user"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    subject: so.Mapped[str] = so.mapped_column(sa.String(200))
    body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    link: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    step_run_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("step_runs.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    read_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())


class EmailStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    WRITTEN = "written"  # no SMTP server configured: the message went to a file
    FAILED = "failed"


# The CHECK constraint's value list: the enum's plain strings.
EMAIL_STATUSES = tuple(status.value for status in EmailStatus)


class OutboundEmail(Model):
    """An email to send: the outbox row is the truth, the Huey task only carries its id.

    `message_key` is unique, so the same event cannot queue the same email twice; "written"
    means no SMTP server was configured and the message went to a file under instance/.
    """

    __tablename__ = "outbound_emails"
    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(EMAIL_STATUSES), name="known_status"),
        sa.Index("ix_outbound_emails_status_created", "status", "created_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    message_key: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    recipients: so.Mapped[str] = so.mapped_column(sa.Text)
    subject: so.Mapped[str] = so.mapped_column(sa.String(300))
    body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default=EmailStatus.QUEUED)
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    file_path: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
