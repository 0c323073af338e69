"""Read queries behind the execution pages: the filtered list, one execution's timeline grouped
by stage, and a policy's latest executions; and the operator's two commands on an execution,
cancel and retry, each one unit of work around the engine's audited operation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.approvals.models import ApprovalRequest
from governance.auth.models import User
from governance.engine import operate
from governance.engine.definition import redact, secret_values
from governance.engine.models import EXECUTION_STATUSES, Execution, StepRun, Workflow
from governance.engine.steps import get_step_type
from governance.errors import NotFound
from governance.executions import visibility
from governance.extensions import db
from governance.policies.models import Policy
from governance.unit_of_work import unit_of_work
from governance.webhooks import deliveries
from governance.webhooks.models import WebhookDelivery
from governance.webhooks.signing_secret import known_secrets

DECIDED_STATUSES = frozenset({"approved", "rejected"})


@dataclass(frozen=True)
class ExecutionQuery:
    """The list's filters, as plain values (unknown or malformed ones are simply unset)."""

    workflow_id: int | None = None
    status: str = ""
    policy_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1

    @property
    def is_filtered(self) -> bool:
        return bool(
            self.workflow_id or self.status or self.policy_id or self.date_from or self.date_to
        )


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


# A person shown by name: their roles and groups (selectin by default) stay unloaded.
_names_only = (so.lazyload(User.role_rows), so.lazyload(User.groups))


def _row_loads() -> tuple:
    """What a row shows, in the same query: the policy's title (not its possibly long body,
    not its owner) and the actor's name (not their roles and groups)."""
    return (
        so.joinedload(Execution.policy)
        .load_only(Policy.id, Policy.title, Policy.status)
        .lazyload(Policy.owner),
        so.joinedload(Execution.actor).options(*_names_only),
    )


def execution_list_statement(query: ExecutionQuery, user: User) -> sa.Select:
    """Executions matching the filters, newest first, with what a list row shows loaded."""
    statement = sa.select(Execution).options(*_row_loads())
    visible = visibility.readable_executions(user)
    if visible is not None:
        statement = statement.where(visible)
    if query.workflow_id:
        statement = statement.where(Execution.workflow_id == query.workflow_id)
    if query.status in EXECUTION_STATUSES:
        statement = statement.where(Execution.status == query.status)
    if query.policy_id:
        statement = statement.where(Execution.policy_id == query.policy_id)
    if query.date_from:
        statement = statement.where(Execution.created_at >= _start_of(query.date_from))
    if query.date_to:
        statement = statement.where(
            Execution.created_at < _start_of(query.date_to + timedelta(days=1))
        )
    return statement.order_by(Execution.created_at.desc(), Execution.id.desc())


def workflow_choices() -> list[tuple[int, str]]:
    return list(db.session.execute(sa.select(Workflow.id, Workflow.name).order_by(Workflow.name)))


def policy_executions(policy_id: int, user: User, limit: int = 20) -> list[Execution]:
    """A policy's latest executions this user may read (their workflow comes with them),
    newest first."""
    statement = sa.select(Execution).where(Execution.policy_id == policy_id)
    visible = visibility.readable_executions(user)
    if visible is not None:
        statement = statement.where(visible)
    return list(
        db.session.scalars(
            statement.order_by(Execution.created_at.desc(), Execution.id.desc()).limit(limit)
        )
    )


# ---------------------------------------------------------------- one execution


@dataclass
class StepView:
    run: StepRun
    label: str
    summary: str
    automated: bool  # False for approval and wait steps: they park rather than retry
    output: Any  # with secrets hidden; empty when the step has no output
    error: str | None
    waiting_for: list[ApprovalRequest] = field(default_factory=list)
    decisions: list[ApprovalRequest] = field(default_factory=list)
    withdrawn: list[ApprovalRequest] = field(default_factory=list)


@dataclass
class StageView:
    number: int  # 1-based, as people count
    state: str  # "done", "failed", "cancelled", "current" or "upcoming"
    steps: list[StepView]


@dataclass
class Timeline:
    execution: Execution
    stages: list[StageView]
    trigger: Any  # the trigger data, secrets hidden
    secrets: frozenset[str]
    # The delivery log of each webhook step run (webhooks/_deliveries.html shows it).
    deliveries: dict[int, list[WebhookDelivery]] = field(default_factory=dict)

    @property
    def is_live(self) -> bool:
        return not self.execution.is_finished

    def hide_secrets(self, text: str | None) -> str | None:
        """Errors and tracebacks can quote a config value; never let a secret through."""
        return redact(text, self.secrets)


def _step_view(run: StepRun, config: dict[str, Any], requests, secrets) -> StepView:
    action = get_step_type(run.step_type)
    view = StepView(
        run=run,
        label=action.label,
        summary=redact(action.describe(config), secrets),
        automated=action.automated,
        output=redact(run.output, secrets),
        error=redact(run.error, secrets),
    )
    for request in requests:
        if request.status == "pending":
            view.waiting_for.append(request)
        elif request.status in DECIDED_STATUSES:
            view.decisions.append(request)
        else:
            view.withdrawn.append(request)
    return view


def execution_timeline(execution_id: int, user: User) -> Timeline:
    """One execution with its step runs, attempts and approval requests, grouped by stage.

    Four queries whatever the number of steps: the execution (with version, policy and actor),
    its step runs, their attempts, and its approval requests with the people they name (and a
    fifth for the delivery log, when it has webhook steps). A live page asks for this every
    2 s, so it stays that small.
    """
    execution = db.session.scalar(
        sa.select(Execution)
        .where(Execution.id == execution_id)
        .options(
            *_row_loads(),
            so.joinedload(Execution.version),
            so.selectinload(Execution.step_runs).selectinload(StepRun.attempts),
        )
    )
    if execution is None or not visibility.can_read_execution(user, execution):
        raise NotFound("No such execution.")
    requests = db.session.scalars(
        sa.select(ApprovalRequest)
        .where(ApprovalRequest.execution_id == execution.id)
        .options(
            so.joinedload(ApprovalRequest.assignee_user).options(*_names_only),
            so.joinedload(ApprovalRequest.assignee_group),
            so.joinedload(ApprovalRequest.decided_by).options(*_names_only),
        )
        .order_by(ApprovalRequest.id)
    ).all()
    by_step: dict[int, list[ApprovalRequest]] = {}
    for request in requests:
        by_step.setdefault(request.step_run_id, []).append(request)

    definition = execution.version.definition
    secrets = secret_values(definition) | known_secrets(execution.workflow)
    configs = {
        step["key"]: step.get("config") or {}
        for stage in definition["stages"]
        for step in stage["steps"]
    }
    stages: list[StageView] = []
    for index in range(len(definition["stages"])):
        runs = [run for run in execution.step_runs if run.stage_index == index]
        if runs and all(run.is_finished for run in runs):
            statuses = {run.status for run in runs}
            if "failed" in statuses:
                state = "failed"
            elif statuses == {"cancelled"}:
                state = "cancelled"
            else:
                state = "done"
        elif index == execution.current_stage and not execution.is_finished:
            state = "current"
        else:
            state = "upcoming"
        stages.append(
            StageView(
                number=index + 1,
                state=state,
                steps=[
                    _step_view(run, configs.get(run.step_key, {}), by_step.get(run.id, []), secrets)
                    for run in runs
                ],
            )
        )
    return Timeline(
        execution=execution,
        stages=stages,
        trigger=redact(execution.trigger_data, secrets),
        secrets=secrets,
        deliveries=deliveries.deliveries_by_step_run(
            run.id for run in execution.step_runs if run.step_type == deliveries.STEP_TYPE
        ),
    )


@unit_of_work()
def cancel_execution(execution_id: int, *, actor: User, reason: str = "") -> None:
    """End a running or waiting execution; its pending approval requests are withdrawn."""
    operate.cancel_execution(execution_id, actor_id=actor.id, reason=reason)


@unit_of_work()
def retry_execution(execution_id: int, *, actor: User) -> list[int]:
    """Restart a failed execution from its failed step(s); returns the steps queued again."""
    return operate.retry_execution(execution_id, actor_id=actor.id)
