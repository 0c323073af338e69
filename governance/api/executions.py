"""/api/v1/executions: list and read executions (the rules of the /executions pages), and the
operators' cancel and retry through the engine."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import url_for
from pydantic import BaseModel, Field

from governance.api.auth import current_api_user
from governance.api.errors import ApiError
from governance.api.paging import keyset_page
from governance.api.schemas import MAX_ID, PageQuery, Strict, UTCDatetime
from governance.api.spec import operation
from governance.api.statuses import ExecutionStatus, RequestStatus, StepStatus
from governance.api.text import Text
from governance.approvals.models import ApprovalRequest
from governance.engine import operate
from governance.engine.definition import redact
from governance.engine.models import Execution
from governance.errors import DomainError
from governance.executions import service

TAG = "Executions"
StageState = Literal["done", "failed", "cancelled", "current", "upcoming"]


class ExecutionWorkflow(BaseModel):
    id: int
    name: str


class ExecutionPolicy(BaseModel):
    id: int
    title: str


class PersonRef(BaseModel):
    id: int
    name: str


class GroupRef(BaseModel):
    id: int
    name: str


class ExecutionSummary(BaseModel):
    id: int
    workflow: ExecutionWorkflow
    policy: ExecutionPolicy | None
    status: ExecutionStatus
    trigger_type: str
    started_by: PersonRef | None = Field(description="Who caused it; null for the system.")
    current_stage: int = Field(description="1-based, as the page counts stages.")
    created_at: datetime
    finished_at: datetime | None


class AttemptOut(BaseModel):
    number: int
    outcome: str = Field(description="running, succeeded, retry, failed, waiting...")
    started_at: datetime
    finished_at: datetime | None
    error: str | None
    traceback: str | None = Field(description="Admins only; null for everyone else.")


class ApprovalRequestOut(BaseModel):
    id: int
    status: RequestStatus
    assignee_user: PersonRef | None
    assignee_group: GroupRef | None
    due_at: datetime | None
    decided_by: PersonRef | None
    decided_at: datetime | None
    comment: str | None


class StepOut(BaseModel):
    id: int
    key: str
    type: str
    label: str
    summary: str = Field(description="What the step does, from its configuration.")
    status: StepStatus
    automated: bool = Field(description="False for approval and wait steps: they park.")
    attempt: int
    max_attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    next_attempt_at: datetime | None
    output: dict[str, Any]
    error: str | None
    attempts: list[AttemptOut]
    approval_requests: list[ApprovalRequestOut]


class StageOut(BaseModel):
    number: int
    state: StageState
    steps: list[StepOut]


class ExecutionOut(ExecutionSummary):
    """Secrets of the workflow's step configurations are shown as [hidden] everywhere."""

    workflow_version: int
    error: str | None
    trigger_data: dict[str, Any]
    stages: list[StageOut]


class ExecutionList(BaseModel):
    items: list[ExecutionSummary]
    next_cursor: str | None


class ExecutionListQuery(PageQuery):
    workflow_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    status: ExecutionStatus | None = None
    policy_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    since: UTCDatetime | None = Field(
        default=None, description="Started at or after this moment (ISO 8601; no offset: UTC)."
    )


class CancelIn(Strict):
    reason: Text = Field(default="", max_length=500, description="Shown as the execution's error.")


def person_ref(user) -> PersonRef | None:
    return PersonRef(id=user.id, name=user.name) if user is not None else None


def _summary_fields(execution: Execution) -> dict:
    policy = execution.policy
    return {
        "id": execution.id,
        "workflow": ExecutionWorkflow(id=execution.workflow.id, name=execution.workflow.name),
        "policy": ExecutionPolicy(id=policy.id, title=policy.title) if policy else None,
        "status": execution.status,
        "trigger_type": execution.trigger_type,
        "started_by": person_ref(execution.actor),
        "current_stage": execution.current_stage + 1,
        "created_at": execution.created_at,
        "finished_at": execution.finished_at,
    }


def _approval_request(request: ApprovalRequest) -> ApprovalRequestOut:
    group = request.assignee_group
    return ApprovalRequestOut(
        id=request.id,
        status=request.status,
        assignee_user=person_ref(request.assignee_user),
        assignee_group=GroupRef(id=group.id, name=group.name) if group else None,
        due_at=request.due_at,
        decided_by=person_ref(request.decided_by),
        decided_at=request.decided_at,
        comment=request.comment,
    )


def _step(view: service.StepView, timeline: service.Timeline, is_admin: bool) -> StepOut:
    run = view.run
    return StepOut(
        id=run.id,
        key=run.step_key,
        type=run.step_type,
        label=view.label,
        summary=view.summary,
        status=run.status,
        automated=view.automated,
        attempt=run.attempt,
        max_attempts=run.max_attempts,
        started_at=run.started_at,
        finished_at=run.finished_at,
        next_attempt_at=run.next_attempt_at,
        output=redact(run.output or {}, timeline.secrets),
        error=view.error,
        attempts=[
            AttemptOut(
                number=attempt.number,
                outcome=attempt.outcome,
                started_at=attempt.started_at,
                finished_at=attempt.finished_at,
                error=timeline.hide_secrets(attempt.error),
                traceback=timeline.hide_secrets(attempt.traceback) if is_admin else None,
            )
            for attempt in run.attempts
        ],
        approval_requests=[
            _approval_request(request)
            for request in sorted(
                view.waiting_for + view.decisions + view.withdrawn, key=lambda r: r.id
            )
        ],
    )


def _execution_out(execution_id: int) -> ExecutionOut:
    user = current_api_user()
    timeline = service.execution_timeline(execution_id, user)
    execution = timeline.execution
    return ExecutionOut(
        **_summary_fields(execution),
        workflow_version=execution.version.number,
        error=timeline.hide_secrets(execution.error),
        trigger_data=redact(execution.trigger_data or {}, timeline.secrets),
        stages=[
            StageOut(
                number=stage.number,
                state=stage.state,
                steps=[_step(view, timeline, user.is_admin) for view in stage.steps],
            )
            for stage in timeline.stages
        ],
    )


@operation(
    "/executions",
    summary="List executions",
    tag=TAG,
    query=ExecutionListQuery,
    responses={200: ExecutionList},
    description="Newest first. Only executions whose subject the caller may read, as on the "
    "/executions page: a viewer sees those of published policies (without a draft beside them) "
    "and of none, never those of a draft or of an exception, unless one of their approval "
    "requests was put to the viewer. Another execution answers 404.",
)
def list_executions(query: ExecutionListQuery):
    statement = service.execution_list_statement(
        service.ExecutionQuery(
            workflow_id=query.workflow_id, status=query.status or "", policy_id=query.policy_id
        ),
        current_api_user(),
    )
    if query.since is not None:
        statement = statement.where(Execution.created_at >= query.since)
    executions, next_cursor = keyset_page(statement, Execution.id, query)
    return ExecutionList(
        items=[ExecutionSummary(**_summary_fields(e)) for e in executions],
        next_cursor=next_cursor,
    )


@operation(
    "/executions/<int:execution_id>",
    summary="Get an execution with its stages, steps, attempts and approval requests",
    tag=TAG,
    responses={200: ExecutionOut},
)
def get_execution(execution_id: int):
    return _execution_out(execution_id)


def _conflict(error: DomainError) -> ApiError:
    """The engine refuses an operator's move with a plain DomainError when the execution's
    state does not allow it (already ended, not failed): the request was fine, the moment
    was not, so the API answers 409 rather than the 422 a DomainError maps to."""
    return ApiError(409, error.message)


@operation(
    "/executions/<int:execution_id>/cancel",
    "POST",
    summary="Cancel a running or waiting execution",
    tag=TAG,
    body=CancelIn,
    body_required=False,
    roles=("admin",),
    responses={200: ExecutionOut},
    refusals={409: "The execution has already ended."},
    description="Pending approval requests are withdrawn. The body may be left out.",
)
def cancel_execution(execution_id: int, body: CancelIn):
    user = current_api_user()
    execution = operate.get_execution(execution_id)
    try:
        service.cancel_execution(execution.id, actor=user, reason=body.reason.strip())
    except DomainError as error:
        raise _conflict(error) from error
    return _execution_out(execution.id)


@operation(
    "/executions/<int:execution_id>/retry",
    "POST",
    summary="Retry a failed execution from its failed step(s)",
    tag=TAG,
    roles=("admin",),
    responses={202: ExecutionOut},
    refusals={409: "The execution has not failed."},
    headers={202: {"Location": "The execution's URL, to follow it."}},
    description="The failed steps run again with a fresh set of attempts; finished steps do "
    "not run twice.",
)
def retry_execution(execution_id: int):
    user = current_api_user()
    execution = operate.get_execution(execution_id)
    try:
        service.retry_execution(execution.id, actor=user)
    except DomainError as error:
        raise _conflict(error) from error
    location = url_for("api.get_execution", execution_id=execution.id)
    return _execution_out(execution.id), 202, {"Location": location}
