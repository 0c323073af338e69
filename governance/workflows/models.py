"""Inbound webhook messages a webhook workflow accepted (for replay protection)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.extensions import Model
from governance.timeutil import UTCDateTime, utcnow


class InboundWebhookMessage(Model):
    """A Standard Webhooks message id a webhook workflow accepted: a second request with the
    same id is a replay. Kept as long as its timestamp could still pass the window."""

    __tablename__ = "inbound_webhook_messages"

    workflow_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True
    )
    message_id: so.Mapped[str] = so.mapped_column(sa.String(255), primary_key=True)
    execution_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("executions.id", ondelete="CASCADE")
    )
    received_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow, index=True)
