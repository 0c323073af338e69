"""Approval requests and the one decision service that records decisions on them."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """The approval step type and the escalation sweep; a step closed withdraws its pending
    requests; a policy edit re-asks the decisions made on its old content, a published version
    names who approved its content; and who may open a link to a request or to an execution
    (whose readers its requests widen); the approval and execution kinds of notification."""
    from governance import events, visibility
    from governance.approvals import reminders, staleness, withdraw
    from governance.approvals.models import ApprovalRequest
    from governance.approvals.notification_kind import (
        APPROVAL_NOTIFICATIONS,
        EXECUTION_NOTIFICATIONS,
    )
    from governance.approvals.step import Approval
    from governance.approvals.visibility import (
        EXECUTION_READ_LOADS,
        can_read_approval_request,
        can_read_execution,
    )
    from governance.engine.events import ExecutionStepsClosed
    from governance.engine.models import Execution
    from governance.engine.steps import register_step_type
    from governance.engine.sweeps import register_sweep
    from governance.notifications.kinds import register_kind
    from governance.policies import versions
    from governance.policies.events import PolicyUpdated

    register_step_type(Approval)
    register_sweep("approvals_escalated", reminders.escalate_overdue)
    events.subscribe(ExecutionStepsClosed, withdraw.withdraw_pending_requests)
    events.subscribe(PolicyUpdated, staleness.reask_on_policy_updated)
    versions.register_approval_source(staleness.approvers_of_content)
    visibility.register_path_object("request_id", ApprovalRequest, can_read_approval_request)
    visibility.register_path_object(
        "execution_id", Execution, can_read_execution, loads=EXECUTION_READ_LOADS
    )
    register_kind(APPROVAL_NOTIFICATIONS)
    register_kind(EXECUTION_NOTIFICATIONS)
