"""Workflow rules: create, save a new immutable version, activate, deactivate, run manually,
delete. (The inbound webhook trigger is inbound.py; reading and rotating the outbound signing
secret is signing_secret.py.)"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.exc import IntegrityError

from governance.audit.service import record_event
from governance.auth.models import User
from governance.engine import schedule, start
from governance.engine.definition import (
    DefinitionError,
    carry_over_secrets,
    validate_definition,
)
from governance.engine.models import (
    FINISHED_EXECUTION_STATUSES,
    WORKFLOW_STATUSES,
    Execution,
    Workflow,
    WorkflowVersion,
)
from governance.errors import Conflict, DomainError, NotFound
from governance.extensions import db
from governance.lookup import get_or_raise, name_taken
from governance.policies.models import Policy
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work
from governance.webhooks.signing import new_inbound_secret, new_signing_secret


def get_workflow(workflow_id: int) -> Workflow:
    return get_or_raise(Workflow, workflow_id, "No such workflow.")


def _check_name(name: str, exclude_id: int | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise DomainError("Give the workflow a name.", field="name")
    if len(name) > 120:
        raise DomainError("The name must be at most 120 characters.", field="name")
    if name_taken(Workflow, name, exclude_id):
        raise DomainError("A workflow with this name already exists.", field="name")
    return name


def _validated(
    name: str, definition: dict[str, Any], exclude_id: int | None
) -> tuple[str, dict[str, Any]]:
    """The clean name and definition, or one DefinitionError listing every problem, the
    name's included, so the person fixes them all in one go."""
    errors: dict[str, str] = {}
    try:
        name = _check_name(name, exclude_id)
    except DomainError as error:
        errors[error.field or "name"] = error.message
    try:
        clean = validate_definition(definition)
    except DefinitionError as error:
        errors |= error.errors
    if errors:
        raise DefinitionError(errors)
    return name, clean


@unit_of_work()
def save_workflow(
    workflow_id: int | None,
    *,
    name: str,
    description: str,
    definition: dict[str, Any],
    actor: User,
    expected_version: int | None = None,
) -> int:
    """Create a workflow or save a new version of it. Nothing is written if anything is wrong.

    A new version never changes running executions: they keep the version they started with.
    `expected_version` is the latest version the caller edited: if someone saved a newer one
    meanwhile, Conflict, so their version is not silently replaced.
    """
    workflow = get_workflow(workflow_id) if workflow_id is not None else None
    if (
        workflow is not None
        and expected_version is not None
        and workflow.latest_version != expected_version
    ):
        raise Conflict(
            f"“{workflow.name}” is at version {workflow.latest_version} now, not "
            f"{expected_version}: someone saved it after you read it. Nothing was saved; "
            "read it again and apply your changes."
        )
    if workflow is not None:
        definition = carry_over_secrets(definition, latest_version(workflow).definition)
    name, clean = _validated(name, definition, exclude_id=workflow_id)
    if workflow is None:
        workflow = Workflow(
            name=name,
            status="draft",
            trigger_type=clean["trigger"]["type"],
            created_by_id=actor.id,
            webhook_secret=new_inbound_secret(),
            signing_secret=new_signing_secret(),
        )
        db.session.add(workflow)
        db.session.flush()
    else:
        workflow.name = name
    workflow.description = description.strip()[:1000]
    workflow.latest_version += 1
    workflow.updated_at = utcnow()
    version = WorkflowVersion(
        workflow_id=workflow.id,
        number=workflow.latest_version,
        definition=clean,
        created_by_id=actor.id,
    )
    db.session.add(version)
    try:
        db.session.flush()
        record_event(
            actor_id=actor.id,
            action="workflow.saved",
            object_type="workflow",
            object_id=workflow.id,
            summary=f"Saved “{workflow.name}” version {version.number}",
        )
    except IntegrityError as error:
        # Two saves raced past the checks: the unique name or version number decided.
        raise Conflict(
            "Someone else saved a workflow with this name or version at the same moment. "
            "Nothing was saved; reload and try again."
        ) from error
    return workflow.id


def save_definition(
    workflow_id: int, definition: dict[str, Any], *, actor: User, expected_version: int
) -> int:
    """A new version of the workflow with `definition`, its name and description kept: the
    diagram designer's save of one step or one move. The same checks as save_workflow, and
    Conflict when the latest version is no longer `expected_version`."""
    workflow = get_workflow(workflow_id)
    save_workflow(
        workflow_id,
        name=workflow.name,
        description=workflow.description or "",
        definition=definition,
        actor=actor,
        expected_version=expected_version,
    )
    return get_workflow(workflow_id).latest_version


@unit_of_work()
def activate(workflow_id: int, *, actor: User, version_number: int | None = None) -> None:
    """Make a version (default: the latest) the one that new executions use."""
    workflow = get_workflow(workflow_id)
    number = version_number or workflow.latest_version
    version = db.session.scalar(
        sa.select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow.id, WorkflowVersion.number == number
        )
    )
    if version is None:
        raise NotFound(f"This workflow has no version {number}.")
    trigger = version.definition["trigger"]
    workflow.active_version_id = version.id
    workflow.status = "active"
    workflow.trigger_type = trigger["type"]
    workflow.next_run_at = (
        schedule.next_run(trigger["cron"]) if trigger["type"] == "schedule" else None
    )
    workflow.updated_at = utcnow()
    record_event(
        actor_id=actor.id,
        action="workflow.activated",
        object_type="workflow",
        object_id=workflow.id,
        summary=f"Activated “{workflow.name}” version {number}",
    )


@unit_of_work()
def deactivate(workflow_id: int, *, actor: User) -> None:
    workflow = get_workflow(workflow_id)
    if workflow.status != "active":
        raise DomainError("This workflow is not active.")
    workflow.status = "inactive"
    workflow.next_run_at = None
    record_event(
        actor_id=actor.id,
        action="workflow.deactivated",
        object_type="workflow",
        object_id=workflow.id,
        summary=f"Deactivated “{workflow.name}”",
    )


@unit_of_work()
def run_manually(
    workflow_id: int,
    *,
    policy_id: int | None,
    actor: User,
    input_data: dict[str, Any] | None = None,
) -> int:
    """The Run button (and the API's trigger): start the active version for a policy now.

    `input_data` becomes the execution's trigger data, which conditions and templates read
    as trigger.<name>; `started_by` is set here, never by the caller.
    """
    workflow = get_workflow(workflow_id)
    if workflow.status != "active":
        raise DomainError("Activate the workflow before running it.")
    if workflow.trigger_type != "manual":
        raise DomainError("Only workflows with the manual trigger have a Run button.")
    if policy_id is not None and db.session.get(Policy, policy_id) is None:
        raise DomainError(
            f"There is no policy {policy_id}; choose an existing policy.", field="policy_id"
        )
    if "started_by" in (input_data or {}):
        raise DomainError(
            "started_by is set by Steward (who ran the workflow); use another name.",
            field="input.started_by",
        )
    execution = start.start_execution(
        workflow,
        policy_id=policy_id,
        trigger_type="manual",
        trigger_data={**(input_data or {}), "started_by": actor.id},
        actor_id=actor.id,
    )
    record_event(
        actor_id=actor.id,
        action="workflow.run",
        object_type="execution",
        object_id=execution.id,
        summary=f"Ran “{workflow.name}” by hand",
    )
    return execution.id


@unit_of_work()
def delete_workflow(workflow_id: int, *, actor: User) -> None:
    """Delete a workflow that never ran, with its versions.

    One with executions is refused: unfinished ones are still at work, and finished ones are
    evidence (who approved what, when) that an audit may ask for; deactivate it instead.
    """
    workflow = get_workflow(workflow_id)
    name = workflow.name
    # Written first: from here SQLite holds its write lock, so no execution can start between
    # the check below and the deletes. On PostgreSQL an execution started meanwhile makes the
    # workflow's DELETE fail on its foreign key instead; both end as the same Conflict.
    workflow.status = "inactive"
    workflow.next_run_at = None
    db.session.flush()
    unfinished, finished = db.session.execute(
        sa.select(
            sa.func.count().filter(Execution.status.not_in(FINISHED_EXECUTION_STATUSES)),
            sa.func.count().filter(Execution.status.in_(FINISHED_EXECUTION_STATUSES)),
        ).where(Execution.workflow_id == workflow.id)
    ).one()
    if unfinished:
        raise Conflict(
            f"“{name}” has {unfinished} unfinished execution(s). Nothing was deleted: cancel "
            "them or wait until they finish, then deactivate it."
        )
    if finished:
        raise Conflict(
            f"“{name}” has run {finished} time(s); its executions are evidence of who approved "
            "what, so it cannot be deleted. Deactivate it instead."
        )
    workflow.active_version_id = None
    db.session.flush()
    db.session.execute(
        sa.delete(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow.id),
        execution_options={"synchronize_session": False},
    )
    db.session.delete(workflow)
    record_event(
        actor_id=actor.id,
        action="workflow.deleted",
        object_type="workflow",
        object_id=workflow_id,
        summary=f"Deleted “{name}”, which never ran",
    )
    try:
        db.session.flush()  # the foreign key of an execution started meanwhile refuses it here
    except IntegrityError as error:
        raise Conflict(f"“{name}” started running meanwhile. Nothing was deleted.") from error


def recent_executions(workflow_id: int, limit: int = 100) -> list[Execution]:
    return list(
        db.session.scalars(
            sa.select(Execution)
            .where(Execution.workflow_id == workflow_id)
            .order_by(Execution.id.desc())
            .limit(limit)
        )
    )


# ---------------------------------------------------------------- reading


def list_workflows() -> list[Workflow]:
    return list(db.session.scalars(sa.select(Workflow).order_by(Workflow.name)))


def workflow_list_statement(
    *, status: str | None = None, trigger_type: str | None = None
) -> sa.Select:
    """Workflows with their active version's number, optionally of one status or trigger."""
    statement = sa.select(Workflow).options(
        so.joinedload(Workflow.active_version).load_only(WorkflowVersion.id, WorkflowVersion.number)
    )
    if status in WORKFLOW_STATUSES:
        statement = statement.where(Workflow.status == status)
    if trigger_type:
        statement = statement.where(Workflow.trigger_type == trigger_type)
    return statement.order_by(Workflow.id.desc())


def run_stats(workflow_ids: list[int], window: int = 100) -> dict[int, dict[str, Any]]:
    """Per workflow: last run time and success rate over its last `window` finished runs.

    One query for the whole page, whatever the number of workflows or executions.
    """
    if not workflow_ids:
        return {}
    ranked = (
        sa.select(
            Execution.workflow_id,
            Execution.status,
            Execution.created_at,
            sa.func.row_number()
            .over(partition_by=Execution.workflow_id, order_by=Execution.id.desc())
            .label("rank"),
        )
        .where(Execution.workflow_id.in_(workflow_ids))
        .subquery()
    )
    finished = ranked.c.status.in_(("succeeded", "failed", "rejected", "cancelled"))
    rows = db.session.execute(
        sa.select(
            ranked.c.workflow_id,
            sa.func.max(ranked.c.created_at),
            sa.func.count().filter(finished),
            sa.func.count().filter(ranked.c.status == "succeeded"),
        )
        .where(ranked.c.rank <= window)
        .group_by(ranked.c.workflow_id)
    ).all()
    stats = {}
    for workflow_id, last_run, done, succeeded in rows:
        stats[workflow_id] = {
            "last_run": last_run,
            "finished": done,
            "success_rate": round(100 * succeeded / done) if done else None,
        }
    return stats


def list_versions(workflow_id: int) -> list[WorkflowVersion]:
    return list(
        db.session.scalars(
            sa.select(WorkflowVersion)
            .where(WorkflowVersion.workflow_id == workflow_id)
            .order_by(WorkflowVersion.number.desc())
        )
    )


def latest_version(workflow: Workflow) -> WorkflowVersion:
    return db.session.scalars(
        sa.select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow.id,
            WorkflowVersion.number == workflow.latest_version,
        )
    ).one()


def has_webhook_steps(workflow: Workflow) -> bool:
    """Whether the active or the latest version sends outbound webhooks (its page shows the
    signing secret then)."""
    versions = [workflow.active_version, latest_version(workflow)]
    return any(
        step["type"] == "webhook"
        for version in versions
        if version is not None
        for stage in version.definition["stages"]
        for step in stage["steps"]
    )
