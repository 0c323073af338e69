"""An in-app notification for one user."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.extensions import db
from governance.timeutil import UTCDateTime, utcnow


class Notification(db.Model):
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
