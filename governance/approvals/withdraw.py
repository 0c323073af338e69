"""Withdrawing approval requests nobody needs to answer any more: their step was closed."""

from __future__ import annotations

import sqlalchemy as sa

from governance.approvals.models import ApprovalRequest
from governance.engine.events import ExecutionStepsClosed
from governance.extensions import db


def withdraw_pending_requests(event: ExecutionStepsClosed) -> None:
    """In the transaction that closed the steps: their pending requests are cancelled."""
    db.session.execute(
        sa.update(ApprovalRequest)
        .where(
            ApprovalRequest.execution_id == event.execution_id,
            ApprovalRequest.status == "pending",
        )
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
