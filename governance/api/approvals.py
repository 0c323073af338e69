"""/api/v1/approvals: my pending approval requests (the inbox's "Waiting for me") and a decision
on one, through the same decision service as the inbox (four-eyes, decided once, one person
once per step)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from governance.api.auth import current_api_user
from governance.api.executions import GroupRef, PersonRef, person_ref
from governance.api.paging import keyset_page
from governance.api.schemas import MAX_ID, PageQuery, Strict
from governance.api.spec import operation
from governance.api.statuses import ExecutionStatus, RequestStatus
from governance.api.text import Text
from governance.approvals import inbox, service
from governance.approvals.models import ApprovalRequest

TAG = "Approvals"
# The API speaks in verbs; the decision service records what the request became.
DECISIONS = {"approve": "approved", "reject": "rejected"}


class ApprovalExecution(BaseModel):
    id: int
    status: ExecutionStatus
    workflow_id: int
    workflow_name: str
    started_by: PersonRef | None = Field(description="Who submitted the change.")


class ApprovalPolicy(BaseModel):
    id: int
    title: str
    category: str


class ApprovalOut(BaseModel):
    id: int
    status: RequestStatus
    step_key: str
    execution: ApprovalExecution
    policy: ApprovalPolicy | None
    assignee_user: PersonRef | None
    assignee_group: GroupRef | None = Field(description="Set when asked of a group.")
    due_at: datetime | None
    created_at: datetime
    decided_by: PersonRef | None
    decided_at: datetime | None
    comment: str | None


class ApprovalList(BaseModel):
    items: list[ApprovalOut]
    next_cursor: str | None


class ApprovalListQuery(PageQuery):
    workflow_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class DecisionIn(Strict):
    decision: Literal["approve", "reject"]
    comment: Text = Field(default="", max_length=2000, description="Required to reject.")


class DecisionOut(BaseModel):
    request: ApprovalOut
    step_state: Literal["waiting", "approved", "rejected"] = Field(
        description="The step after this decision: still waiting for other approvers, or done."
    )
    message: str


def _approval_out(request: ApprovalRequest) -> ApprovalOut:
    execution = request.execution
    policy = execution.policy
    group = request.assignee_group
    return ApprovalOut(
        id=request.id,
        status=request.status,
        step_key=request.step_run.step_key,
        execution=ApprovalExecution(
            id=execution.id,
            status=execution.status,
            workflow_id=execution.workflow.id,
            workflow_name=execution.workflow.name,
            started_by=person_ref(execution.actor),
        ),
        policy=ApprovalPolicy(id=policy.id, title=policy.title, category=policy.category)
        if policy
        else None,
        assignee_user=person_ref(request.assignee_user),
        assignee_group=GroupRef(id=group.id, name=group.name) if group else None,
        due_at=request.due_at,
        created_at=request.created_at,
        decided_by=person_ref(request.decided_by),
        decided_at=request.decided_at,
        comment=request.comment,
    )


@operation(
    "/approvals",
    summary="List the approval requests waiting for me",
    tag=TAG,
    query=ApprovalListQuery,
    responses={200: ApprovalList},
    description="The inbox's “Waiting for me”: pending requests assigned to you or your groups, "
    "on executions still open, never of a change you submitted. Newest first.",
)
def list_approvals(query: ApprovalListQuery):
    user = current_api_user()
    statement = inbox.list_statement(
        inbox.InboxQuery(tab="waiting", workflow_id=query.workflow_id), user.id
    )
    requests, next_cursor = keyset_page(statement, ApprovalRequest.id, query)
    return ApprovalList(
        items=[_approval_out(request) for request in requests], next_cursor=next_cursor
    )


@operation(
    "/approvals/<int:request_id>/decision",
    "POST",
    summary="Approve or reject an approval request",
    tag=TAG,
    body=DecisionIn,
    responses={200: DecisionOut},
    refusals={
        403: "Or the request is readable but not assigned to you or your groups, or you "
        "submitted the change or wrote any revision of it since the last published version "
        "(four-eyes).",
        404: "Or the request's execution has a subject you may not read.",
        409: "The request is already decided, its execution has ended, or you already decided "
        "another request of the same step (one person counts once per step).",
        422: "Also: a rejection without a comment.",
    },
    description="A request you may not read answers 404, exactly as one that does not exist.",
)
def decide_approval(request_id: int, body: DecisionIn):
    user = current_api_user()
    # 404 for a request the caller may not read; one they read but may not decide (not
    # theirs, or their own change: four-eyes) is refused by the service with a 403.
    request = service.get_readable_request(request_id, user)
    state = service.record_decision(
        request.id, user=user, decision=DECISIONS[body.decision], comment=body.comment
    )
    return DecisionOut(
        request=_approval_out(request),
        step_state=state,
        message=service.STATE_MESSAGES[state],
    )
