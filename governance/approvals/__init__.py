"""Approval requests and the one decision service that records decisions on them."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """What this feature contributes to the engine (its step types, sweeps, subscriptions), and
    who may open a link to a request or to an execution (whose readers its requests widen)."""
    from governance import visibility
    from governance.approvals.models import ApprovalRequest
    from governance.approvals.visibility import can_read_approval_request, can_read_execution
    from governance.engine.models import Execution

    visibility.register_path_object("request_id", ApprovalRequest, can_read_approval_request)
    visibility.register_path_object("execution_id", Execution, can_read_execution)
