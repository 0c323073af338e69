"""The delivery log of outbound webhook steps: one row per request sent (each attempt of a
step run, and each redelivery an admin asked for), kept for the job retention period."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.extensions import Model
from governance.timeutil import UTCDateTime, utcnow

# What the log keeps of a body, as the page shows it; a request body is kept whole so a
# redelivery sends the same bytes.
LOGGED_BODY_BYTES = 4096


class WebhookDelivery(Model):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # One row per attempt, whichever consumer writes it; redeliveries have no attempt
        # (NULLs are distinct in a unique constraint, in SQLite and PostgreSQL alike).
        sa.UniqueConstraint("step_run_id", "attempt", name="uq_webhook_delivery_attempt"),
        sa.Index("ix_webhook_deliveries_created", "created_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    step_run_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("step_runs.id", ondelete="CASCADE")
    )
    attempt: so.Mapped[int | None]
    is_redelivery: so.Mapped[bool] = so.mapped_column(default=False)
    redelivered_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    method: so.Mapped[str] = so.mapped_column(sa.String(10))
    url: so.Mapped[str] = so.mapped_column(sa.Text)
    # Names in lower case; the values of secret headers are replaced by "[hidden]".
    request_headers: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    request_body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    response_status: so.Mapped[int | None]
    response_headers: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    response_body: so.Mapped[str] = so.mapped_column(sa.Text, default="")  # its first 4 KB
    duration_ms: so.Mapped[int] = so.mapped_column(default=0)
    # As the step's expected status codes judged it: succeeded, retry or failed.
    outcome: so.Mapped[str] = so.mapped_column(sa.String(20))
    error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    redelivered_by = so.relationship("User")

    @property
    def shown_request_body(self) -> str:
        return self.request_body[:LOGGED_BODY_BYTES]

    @property
    def request_body_cut(self) -> bool:
        return len(self.request_body) > LOGGED_BODY_BYTES
