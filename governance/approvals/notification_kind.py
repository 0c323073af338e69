"""Notifications about approvals and executions: their kinds on the notifications page, and
what each is about as it is now (the approval request's policy and status, the execution's
workflow and status), for a page of them in one query per kind."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.approvals.models import ApprovalRequest
from governance.auth.models import User
from governance.engine.models import Execution
from governance.extensions import db
from governance.notifications.kinds import NotificationKind, Subject, Target
from governance.policies.models import Policy


def _label(status: str) -> str:
    return status.replace("_", " ").capitalize()


def _about(execution: Execution) -> str:
    if execution.policy is not None:
        return f"{execution.policy.title} · {execution.workflow.name}"
    return f"Execution {execution.id} · {execution.workflow.name}"


def _execution_loads() -> tuple:
    return (
        so.joinedload(Execution.policy).load_only(Policy.id, Policy.title).lazyload(Policy.owner),
    )


def describe_approvals(reader: User, targets: list[Target]) -> dict[int, Subject]:
    """An approval notification names its step run (the request to decide); a reminder or a
    hand-over names none and is shown with its own words only."""
    step_run_ids = {t.notification.step_run_id for t in targets if t.notification.step_run_id}
    if not step_run_ids:
        return {}
    requests = db.session.scalars(
        sa.select(ApprovalRequest)
        .where(ApprovalRequest.step_run_id.in_(step_run_ids))
        .options(so.joinedload(ApprovalRequest.execution).options(*_execution_loads()))
        .order_by(ApprovalRequest.id)
    )
    chosen: dict[int, ApprovalRequest] = {}
    for request in requests:
        # The reader's own request, when there is one; else the step's first.
        mine = reader.id in (request.assignee_user_id, request.decided_by_id)
        if request.step_run_id not in chosen or mine:
            chosen[request.step_run_id] = request
    return {
        target.notification.id: Subject(
            _about(asked.execution), _label(asked.status), f"run-{asked.status}"
        )
        for target in targets
        if (asked := chosen.get(target.notification.step_run_id or 0)) is not None
    }


def describe_executions(reader: User, targets: list[Target]) -> dict[int, Subject]:
    ids = {t.view_args["execution_id"] for t in targets if "execution_id" in t.view_args}
    if not ids:
        return {}
    executions = {
        execution.id: execution
        for execution in db.session.scalars(
            sa.select(Execution).where(Execution.id.in_(ids)).options(*_execution_loads())
        )
    }
    return {
        target.notification.id: Subject(
            _about(execution), _label(execution.status), f"run-{execution.status}"
        )
        for target in targets
        if (execution := executions.get(target.view_args.get("execution_id", 0))) is not None
    }


APPROVAL_NOTIFICATIONS = NotificationKind(
    "approval", "Approvals", ("/approvals", "/inbox"), describe=describe_approvals
)
EXECUTION_NOTIFICATIONS = NotificationKind(
    "execution", "Executions", ("/executions",), describe=describe_executions
)
