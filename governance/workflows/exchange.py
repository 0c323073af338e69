"""Exporting a workflow version to a file and importing one (a new workflow or a new version),
checked as the designer's save is and audited; the file format itself is workflow_file.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from governance.audit.service import record_event
from governance.auth.models import User
from governance.engine.definition import (
    DefinitionError,
    redact,
    secret_values,
    without_secrets,
)
from governance.engine.models import Workflow, WorkflowVersion
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work
from governance.workflows import references, service
from governance.workflows.workflow_file import FORMAT_VERSION, MARKER, Document


def _left_out(definition: dict[str, Any], kept: dict[str, Any]) -> list[str]:
    """The paths of the secret values a copy without secrets no longer has."""
    paths: list[str] = []
    for stage_index, (stage, kept_stage) in enumerate(
        zip(definition["stages"], kept["stages"], strict=True)
    ):
        for step_index, (step, kept_step) in enumerate(
            zip(stage["steps"], kept_stage["steps"], strict=True)
        ):
            paths.extend(
                f"stages.{stage_index}.steps.{step_index}.config.{name}"
                for name, value in step["config"].items()
                if value not in (None, "") and name not in kept_step["config"]
            )
    return paths


def export_document(workflow: Workflow, version: WorkflowVersion) -> dict[str, Any]:
    """The file's content for one version: its definition without secrets (any secret quoted
    elsewhere in it hidden too), users and groups portable."""
    definition = version.definition
    return {
        MARKER: FORMAT_VERSION,
        "name": workflow.name,
        "description": workflow.description or "",
        "exported_from": {"version": version.number, "at": utcnow().isoformat(timespec="seconds")},
        "secrets_left_out": _left_out(definition, without_secrets(definition)),
        "definition": portable_definition(definition),
    }


@unit_of_work()
def import_document(
    document: Document,
    *,
    actor: User,
    workflow_id: int | None = None,
    name: str = "",
    chosen_groups: dict[str, int | None] | None = None,
    origin: str = "",
) -> int:
    """A new workflow (a draft) from the file, or a new version of `workflow_id`; the id.

    Checked as the designer's save is, every problem listed at once (DefinitionError), and
    nothing written then. A new version keeps the workflow's name and description, and the
    secrets of its latest version's steps of the same key and type. `name` (a new workflow
    only) replaces the file's. `origin` ("a YAML file", "the gallery") goes in the audit."""
    definition, missing = references.from_portable(document.definition, chosen_groups=chosen_groups)
    if workflow_id is not None:
        workflow = service.get_workflow(workflow_id)
        name, description = workflow.name, workflow.description or ""
    else:
        name, description = (name.strip() or document.name), document.description
    try:
        saved_id = service.save_workflow(
            workflow_id, name=name, description=description, definition=definition, actor=actor
        )
    except DefinitionError as error:
        # The missing users and groups first: "An approval needs an assignee" follows from them.
        raise DefinitionError(error.errors | missing) from error
    if missing:
        raise DefinitionError(missing)  # rolls back the save above: nothing is written
    workflow = service.get_workflow(saved_id)
    record_event(
        actor_id=actor.id,
        action="workflow.imported",
        object_type="workflow",
        object_id=saved_id,
        summary=f"Imported “{workflow.name}” version {workflow.latest_version} from "
        f"{origin or 'a ' + document.syntax + ' file'}",
    )
    return saved_id


def portable_definition(definition: dict[str, Any]) -> dict[str, Any]:
    """What a file (or a comparison) shows of a definition: no secret, no id."""
    return references.to_portable(redact(without_secrets(definition), secret_values(definition)))


@dataclass(frozen=True)
class Problem:
    path: str  # in the file: "definition.stages.0.steps.1.config.groups"
    where: str  # in words: "stage 1, step 2 (legal)"
    message: str


_STEP_PATH = re.compile(r"^stages\.(\d+)(?:\.steps\.(\d+))?")


def problems(errors: dict[str, str], definition: Any) -> list[Problem]:
    """The validator's {path: message} as the file's paths, each with where it is in words."""
    located = []
    for path, message in errors.items():
        where = ""
        if match := _STEP_PATH.match(path):
            where = f"stage {int(match[1]) + 1}"
            if match[2] is not None:
                where += f", step {int(match[2]) + 1}"
                try:
                    key = definition["stages"][int(match[1])]["steps"][int(match[2])]["key"]
                except (KeyError, IndexError, TypeError):
                    key = None
                if isinstance(key, str) and key:
                    where += f" ({key})"
        elif path.startswith(("trigger", "conditions", "one_step_per_person")):
            where = path.split(".")[0].replace("_", " ")
        file_path = path if path in ("name", "definition") else f"definition.{path}"
        located.append(Problem(file_path, where, message))
    return located
