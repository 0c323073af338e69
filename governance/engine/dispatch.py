"""Events to executions: which active workflows a trigger starts, in the same transaction."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from governance.engine import conditions, runtime
from governance.engine.models import Execution, Workflow
from governance.extensions import db
from governance.policies.models import Policy

log = logging.getLogger(__name__)


def _trigger_matches(trigger: dict[str, Any], payload: dict[str, Any]) -> bool:
    if trigger["type"] != "policy.status_changed":
        return True
    wanted_from, wanted_to = trigger.get("from_status"), trigger.get("to_status")
    return (not wanted_from or wanted_from == payload.get("old_status")) and (
        not wanted_to or wanted_to == payload.get("new_status")
    )


def _source_workflow_id(payload: dict[str, Any]) -> int | None:
    execution_id = payload.get("source_execution_id")
    if not execution_id:
        return None
    return db.session.scalar(sa.select(Execution.workflow_id).where(Execution.id == execution_id))


def start_matching(trigger_type: str, payload: dict[str, Any]) -> list[int]:
    """Start every active workflow whose trigger and conditions match. Returns execution ids."""
    workflows = db.session.scalars(
        sa.select(Workflow)
        .where(Workflow.status == "active", Workflow.trigger_type == trigger_type)
        .order_by(Workflow.id)
    ).all()
    if not workflows:
        return []
    policy = db.session.get(Policy, payload["policy_id"]) if payload.get("policy_id") else None
    trigger_data = {key: value for key, value in payload.items() if key != "source_execution_id"}
    data = {"policy": runtime.policy_snapshot(policy), "trigger": trigger_data, "steps": {}}
    # A workflow's own steps (set_status) never re-trigger that same workflow: no loops.
    source_workflow = _source_workflow_id(payload)
    started = []
    for workflow in workflows:
        definition = workflow.active_version.definition
        if workflow.id == source_workflow or not _trigger_matches(definition["trigger"], payload):
            continue
        if not conditions.all_hold(definition["conditions"], data):
            continue
        execution = runtime.start_execution(
            workflow,
            policy_id=policy.id if policy else None,
            trigger_type=trigger_type,
            trigger_data=trigger_data,
            actor_id=payload.get("actor_id"),
        )
        started.append(execution.id)
    return started
