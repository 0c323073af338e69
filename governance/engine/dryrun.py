"""Dry run: what a workflow version would do for a policy, with no effect at all. The report
hides the steps' secret fields the way an execution's timeline does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from governance.engine import conditions, context, templating
from governance.engine.condition_words import ValueLabels, condition_words, definition_words
from governance.engine.definition import redact, secret_values, step_descriptions
from governance.engine.steps import StepContext, get_step_type
from governance.engine.template_names import trigger_fields_of
from governance.engine.templating import TemplateError
from governance.extensions import db


@dataclass
class StepPreview:
    stage: int
    key: str
    type: str
    description: str
    would_run: bool
    when: dict[str, Any] | None
    status: str = ""
    output: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    # Names its templates used that the data did not have: at run time the step fails.
    undefined: list[str] = field(default_factory=list)


@dataclass
class ConditionCheck:
    """One condition of the workflow, or one group of them, in words, and whether it holds."""

    words: str
    holds: bool
    match: str = ""  # a group's: "all" or "any"
    parts: list[ConditionCheck] = field(default_factory=list)  # a group's conditions


@dataclass
class DryRunReport:
    conditions: list[ConditionCheck]
    would_start: bool
    steps: list[StepPreview]
    conditions_match: str = "all"
    conditions_words: str = ""


def _check(item: dict[str, Any], data: dict[str, Any], labels: ValueLabels) -> ConditionCheck:
    if not conditions.is_group(item):
        return ConditionCheck(condition_words(item, labels), conditions.evaluate(item, data))
    parts = [_check(condition, data, labels) for condition in item["conditions"]]
    return ConditionCheck(
        "", conditions.holds(item, data), match=item.get("match", "all"), parts=parts
    )


def stand_in_data(
    trigger_type: str, policy_id: int | None, trigger: dict[str, Any]
) -> dict[str, Any]:
    """The data a step would see for this policy (the dry run's, the template preview's): the
    trigger's fields the caller does not give are stand-ins (None), and no step has run yet."""
    subjects = context.subject_data(policy_id)
    snapshot = subjects.get("policy", {})
    # Every field the trigger's data has at run time, so a template reading one is not
    # reported undefined.
    stand_ins = dict.fromkeys(trigger_fields_of(trigger_type) or ())
    stand_ins |= {name: snapshot.get(name) for name in ("revision", "status") if name in stand_ins}
    if "policy_id" in stand_ins:
        stand_ins["policy_id"] = snapshot.get("id")
    return subjects | {
        "trigger": stand_ins | trigger,
        "steps": {},
        "execution": {"id": None, "workflow": None},
    }


def dry_run(
    definition: dict[str, Any],
    policy_id: int | None,
    trigger: dict[str, Any],
    *,
    value_labels: ValueLabels | None = None,
) -> DryRunReport:
    """`value_labels`: the words for known values (statuses), for the conditions' sentence."""
    labels = value_labels or {}
    data = stand_in_data(definition["trigger"]["type"], policy_id, trigger)
    checked = [_check(item, data, labels) for item in definition["conditions"]]
    would_start = conditions.definition_holds(definition, data)
    # A step's run sees its real config and earlier steps' real output; only the report hides.
    secrets = secret_values(definition)
    descriptions = step_descriptions(definition)
    previews = []
    try:
        for stage_index, stage in enumerate(definition["stages"]):
            for step in stage["steps"]:
                action = get_step_type(step["type"])
                when = step.get("when")
                would_run = not when or conditions.evaluate(when, data)
                preview = StepPreview(
                    stage=stage_index,
                    key=step["key"],
                    type=action.label,
                    description=descriptions[step["key"]],
                    would_run=would_run,
                    when=when,
                )
                if would_run:
                    step_context = StepContext(
                        step_run_id=0,
                        execution_id=0,
                        step_key=step["key"],
                        attempt=1,
                        config=step["config"],
                        policy_id=policy_id,
                        actor_id=None,
                        data=data,
                        live=False,
                    )
                    output: dict[str, Any] = {}
                    try:
                        with templating.undefined_names_recorded() as undefined:
                            outcome = action.run(step_context)
                        status, output, failure = outcome.status, outcome.output, outcome.error
                    except TemplateError as error:
                        status, failure = "failed", str(error)
                    preview.status = status
                    preview.output = redact(output, secrets)
                    preview.error = redact(failure, secrets)
                    preview.undefined = undefined
                    data["steps"][step["key"]] = {"output": output, "status": status}
                previews.append(preview)
    finally:
        db.session.rollback()  # a dry run never leaves anything behind
    return DryRunReport(
        conditions=checked,
        would_start=would_start,
        steps=previews,
        conditions_match=definition.get("conditions_match", "all"),
        conditions_words=definition_words(definition, labels),
    )
