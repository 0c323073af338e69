"""Starting executions: the one way in, for every trigger (policy events, manual, schedule,
inbound webhook, and whatever a feature registers).

An execution is created in the transaction of the change that fired its trigger, pinned to
the workflow's active version; its first stage's steps reach Huey only after that commit.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from governance.engine import conditions, context, triggers
from governance.engine.handoff import send_steps_after_commit
from governance.engine.lifecycle import ExecutionStatus, StepRunStatus, WorkflowStatus
from governance.engine.models import Execution, StepRun, Workflow
from governance.errors import DomainError
from governance.extensions import db
from governance.timeutil import utcnow


def start_execution(
    workflow: Workflow,
    *,
    policy_id: int | None,
    trigger_type: str,
    trigger_data: dict[str, Any],
    actor_id: int | None,
) -> Execution:
    """Create the execution, pinned to the active version, and its step runs (no commit).

    The first stage's steps are queued and handed to Huey once the caller's transaction
    commits: the change that fired the trigger and the execution land together or not at all.
    """
    version = workflow.active_version
    if version is None:
        raise DomainError(f"The workflow “{workflow.name}” has no active version.")
    execution = Execution(
        workflow_id=workflow.id,
        version_id=version.id,
        policy_id=policy_id,
        status=ExecutionStatus.RUNNING,
        trigger_type=trigger_type,
        trigger_data=trigger_data,
        actor_id=actor_id,
        current_stage=0,
    )
    db.session.add(execution)
    db.session.flush()
    now = utcnow()
    first_stage: list[StepRun] = []
    for stage_index, position, step in version.step_definitions():
        run = StepRun(
            execution_id=execution.id,
            stage_index=stage_index,
            position=position,
            step_key=step["key"],
            step_type=step["type"],
            status=StepRunStatus.QUEUED if stage_index == 0 else StepRunStatus.PENDING,
            queued_at=now if stage_index == 0 else None,
            max_attempts=step.get("retry", {}).get("attempts", 5),
        )
        db.session.add(run)
        if stage_index == 0:
            first_stage.append(run)
    db.session.flush()
    send_steps_after_commit([run.id for run in first_stage])
    return execution


def _source_workflow_id(payload: dict[str, Any]) -> int | None:
    execution_id = payload.get("source_execution_id")
    if not execution_id:
        return None
    return db.session.scalar(sa.select(Execution.workflow_id).where(Execution.id == execution_id))


def start_matching(trigger_type: str, payload: dict[str, Any]) -> list[int]:
    """Start every active workflow of this trigger type whose trigger settings and conditions
    match (no commit). Returns the execution ids.

    `payload` is the trigger's data, as its feature builds it from the event that fired it:
    `policy_id` names the subject, `actor_id` who caused it, and `source_execution_id` (not
    kept in the trigger data) the execution whose step made the change, if one did.
    """
    workflows = db.session.scalars(
        sa.select(Workflow)
        .where(Workflow.status == WorkflowStatus.ACTIVE, Workflow.trigger_type == trigger_type)
        .order_by(Workflow.id)
    ).all()
    if not workflows:
        return []
    kind = triggers.get_trigger(trigger_type)
    subject_id = payload.get("policy_id") or None
    trigger_data = {key: value for key, value in payload.items() if key != "source_execution_id"}
    data = context.subject_data(subject_id) | {"trigger": trigger_data, "steps": {}}
    # A workflow's own steps (set_status) never re-trigger that same workflow: no loops.
    source_workflow = _source_workflow_id(payload)
    started = []
    for workflow in workflows:
        version = workflow.active_version
        assert version is not None  # an active workflow always has one (service.activate)
        definition = version.definition
        if workflow.id == source_workflow:
            continue
        if kind is not None and not kind.matches(definition["trigger"], payload):
            continue
        if not conditions.definition_holds(definition, data):
            continue
        execution = start_execution(
            workflow,
            policy_id=subject_id,
            trigger_type=trigger_type,
            trigger_data=trigger_data,
            actor_id=payload.get("actor_id"),
        )
        started.append(execution.id)
    return started
