"""Approval requests and the one decision service that records decisions on them."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """What this feature contributes to the engine (its step types, sweeps, subscriptions)."""
    from governance import events
    from governance.approvals import reminders, withdraw
    from governance.engine.events import ExecutionStepsClosed
    from governance.engine.sweeps import register_sweep

    register_sweep("approvals_escalated", reminders.escalate_overdue)
    events.subscribe(ExecutionStepsClosed, withdraw.withdraw_pending_requests)
