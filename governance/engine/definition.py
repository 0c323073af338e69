"""A workflow version's definition: its shape, and the one validator every save goes through.

{"trigger": {"type": "policy.status_changed", "from_status": "", "to_status": "in_review",
             "cron": ""},
 "one_step_per_person": True,
 "conditions_match": "all",
 "conditions": [{"field": "policy.status", "op": "equals", "value": "in_review"},
                {"match": "any", "conditions": [
                    {"field": "policy.category", "op": "equals", "value": "Security"},
                    {"field": "policy.tags", "op": "contains", "value": "pci"}]}],
 "stages": [{"steps": [{"key": "legal", "type": "approval", "config": {...},
                        "when": None, "retry": {"attempts": 5, "backoff": "exponential",
                                                "base_seconds": 10}}]}]}

`one_step_per_person`: one person decides at most one approval step of an execution. A
definition without the key reads as off: versions saved before the setting existed keep the
rule they ran with; the designer starts a new workflow with it on.

`conditions`: what must hold for the workflow to start. `conditions_match` says how its items
combine: "all" (every one must hold) or "any" (one is enough). An item is a plain condition or
a group, `{"match": "all" | "any", "conditions": [plain conditions]}`: one level of nesting,
a group never holds a group, and never is empty. A definition without `conditions_match`
(saved before groups existed) reads as "all", so stored versions keep their meaning. A step's
`when` is one plain condition.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from governance.engine import conditions, context, template_names
from governance.engine.steps import StepType, step_types
from governance.engine.templating import TemplateError
from governance.engine.triggers import get_trigger
from governance.errors import DomainError

STEP_KEY = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
BACKOFF_KINDS = ("exponential", "fixed")
DEFAULT_RETRY: dict[str, Any] = {"attempts": 5, "backoff": "exponential", "base_seconds": 10}
MAX_STAGES = 20
MAX_STEPS_PER_STAGE = 20


class DefinitionError(DomainError):
    """Every problem found, keyed by a path such as "stages.0.steps.1.config.assignees"."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(f"The workflow has {len(errors)} problem(s); see the marked fields.")
        self.errors = errors


def _clean_trigger(raw: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    kind = str(raw.get("type", ""))
    trigger: dict[str, Any] = {"type": kind}
    trigger_type = get_trigger(kind)
    if trigger_type is None:
        errors["trigger.type"] = "Choose a trigger."
        return trigger
    return trigger | trigger_type.clean(raw, errors)  # its settings, checked by its owner


def _clean_condition(raw: Any, path: str, errors: dict[str, str]) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        errors[path] = "A condition needs a field, an operator and a value."
        return None
    field = str(raw.get("field") or "").strip()
    operator = str(raw.get("op") or "")
    value = str(raw.get("value") or "").strip()
    if not conditions.is_known_field(field):
        errors[f"{path}.field"] = (
            f"Unknown field “{field}”. Use policy.status, policy.category, policy.owner, "
            "policy.tags, policy.title, trigger.<name> or steps.<key>.output.<name>."
        )
    if operator not in conditions.OPERATORS:
        errors[f"{path}.op"] = "Choose an operator."
    elif operator != "changed" and not value:
        errors[f"{path}.value"] = "Give a value to compare with."
    # A field with a closed set of values (policy.status) is compared with one of them.
    root, _, name = field.partition(".")
    provider = context.providers().get(root)
    choices = provider.choices.get(name) if provider else None
    if choices and operator in ("equals", "not_equals") and value and value not in choices:
        errors[f"{path}.value"] = f"Unknown {name} “{value}”; use one of {', '.join(choices)}."
    return {"field": field, "op": operator, "value": value}


def _clean_match(raw: Any, path: str, errors: dict[str, str]) -> str:
    match = "all" if raw in (None, "") else str(raw)
    if match not in conditions.MATCHES:
        errors[path] = "Match “all” (every condition must hold) or “any” (one is enough)."
    return match


def _clean_group(raw: dict[str, Any], path: str, errors: dict[str, str]) -> dict[str, Any]:
    group: dict[str, Any] = {"match": _clean_match(raw.get("match"), f"{path}.match", errors)}
    items = raw.get("conditions")
    if not isinstance(items, list) or not items:
        errors[f"{path}.conditions"] = "This group is empty: add a condition or remove the group."
        items = []
    cleaned = []
    for index, item in enumerate(items):
        where = f"{path}.conditions.{index}"
        if isinstance(item, dict) and conditions.is_group(item):
            errors[where] = (
                "A group holds plain conditions only: groups do not nest (one level is enough)."
            )
        elif (condition := _clean_condition(item, where, errors)) is not None:
            cleaned.append(condition)
    return group | {"conditions": cleaned}


def _clean_conditions(raw: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    """The workflow's conditions: plain ones and groups of plain ones."""
    if not isinstance(raw, list):
        errors["conditions"] = "Conditions are a list of conditions and groups."
        return []
    cleaned = []
    for index, item in enumerate(raw):
        path = f"conditions.{index}"
        if isinstance(item, dict) and conditions.is_group(item):
            cleaned.append(_clean_group(item, path, errors))
        elif (condition := _clean_condition(item, path, errors)) is not None:
            cleaned.append(condition)
    return cleaned


def _clean_retry(raw: Any, path: str, errors: dict[str, str]) -> dict[str, Any]:
    raw = raw if isinstance(raw, dict) else {}
    retry = dict(DEFAULT_RETRY)
    try:
        retry["attempts"] = int(raw.get("attempts", DEFAULT_RETRY["attempts"]))
        retry["base_seconds"] = float(raw.get("base_seconds", DEFAULT_RETRY["base_seconds"]))
    except (TypeError, ValueError):
        errors[f"{path}.attempts"] = "Attempts and base delay must be numbers."
        return retry
    if not 1 <= retry["attempts"] <= 20:
        errors[f"{path}.attempts"] = "Attempts must be between 1 and 20."
    if not 0 <= retry["base_seconds"] <= 3600:
        errors[f"{path}.base_seconds"] = "The base delay must be between 0 and 3600 seconds."
    retry["backoff"] = str(raw.get("backoff") or "exponential")
    if retry["backoff"] not in BACKOFF_KINDS:
        errors[f"{path}.backoff"] = "Back-off is exponential or fixed."
    return retry


@dataclass(frozen=True)
class StepNames:
    """What a step's templates may name: its trigger's data and the steps before its stage."""

    trigger_type: str | None
    earlier_stages: frozenset[str]
    this_stage: frozenset[str]


def _check_template_names(
    action: StepType, config: dict[str, Any], path: str, seen: StepNames, errors: dict[str, str]
) -> None:
    """Refuse a template naming what the step will not have (a typo would otherwise fail
    the step at run time)."""
    for field in action.fields:
        where = f"{path}.config.{field.name}"
        if not field.template or where in errors:
            continue
        try:
            unknown = template_names.unknown_names(
                str(config.get(field.name) or ""),
                trigger_type=seen.trigger_type,
                earlier_steps=seen.earlier_stages,
                same_stage_steps=seen.this_stage,
            )
        except TemplateError:
            continue  # the step type's own validation reports what does not parse
        if unknown:
            label = field.name.replace("_", " ")
            errors[where] = f"Unknown name(s) in the {label} template: {', '.join(unknown)}."


def _clean_step(
    raw: Any, path: str, earlier_keys: set[str], seen: StepNames, errors: dict[str, str]
) -> dict[str, Any]:
    actions = step_types()
    raw = raw if isinstance(raw, dict) else {}
    key = str(raw.get("key") or "").strip()
    if not STEP_KEY.match(key):
        errors[f"{path}.key"] = (
            "A step key is lower-case letters, digits and _ (starting with a letter)."
        )
    elif key in earlier_keys:
        errors[f"{path}.key"] = f"The step key “{key}” is used twice; keys must be unique."
    kind = str(raw.get("type") or "")
    step: dict[str, Any] = {"key": key, "type": kind, "config": {}, "when": None}
    if kind not in actions:
        errors[f"{path}.type"] = "Choose a step type."
    else:
        config, config_errors = actions[kind].validate(dict(raw.get("config") or {}))
        step["config"] = config
        errors.update({f"{path}.config.{name}": message for name, message in config_errors.items()})
        _check_template_names(actions[kind], config, path, seen, errors)
    when = raw.get("when")
    if when and (when.get("field") or when.get("op")):
        step["when"] = _clean_condition(when, f"{path}.when", errors)
    step["retry"] = _clean_retry(raw.get("retry"), f"{path}.retry", errors)
    return step


def validate_definition(raw: dict[str, Any]) -> dict[str, Any]:
    """The cleaned definition, or DefinitionError listing every problem at once."""
    errors: dict[str, str] = {}
    trigger = _clean_trigger(dict(raw.get("trigger") or {}), errors)
    conditions_match = _clean_match(raw.get("conditions_match"), "conditions_match", errors)
    cleaned_conditions = _clean_conditions(raw.get("conditions") or [], errors)
    stages_raw = raw.get("stages") or []
    if not stages_raw:
        errors["stages"] = "Add at least one stage with a step."
    if len(stages_raw) > MAX_STAGES:
        errors["stages"] = f"At most {MAX_STAGES} stages."
    keys: set[str] = set()
    stages = []
    trigger_type = trigger["type"] if get_trigger(trigger["type"]) else None
    for stage_index, stage_raw in enumerate(stages_raw):
        steps_raw = (stage_raw or {}).get("steps") or []
        path = f"stages.{stage_index}"
        seen = StepNames(
            trigger_type,
            earlier_stages=frozenset(keys),
            this_stage=frozenset(
                str(item.get("key") or "").strip() for item in steps_raw if isinstance(item, dict)
            ),
        )
        if not steps_raw:
            errors[path] = f"Stage {stage_index + 1} is empty; add a step or remove the stage."
        if len(steps_raw) > MAX_STEPS_PER_STAGE:
            errors[path] = f"At most {MAX_STEPS_PER_STAGE} steps in a stage."
        steps = []
        for step_index, step_raw in enumerate(steps_raw):
            step = _clean_step(step_raw, f"{path}.steps.{step_index}", keys, seen, errors)
            keys.add(step["key"])
            steps.append(step)
        stages.append({"steps": steps})
    _check_distinct_from(stages, errors)
    if errors:
        raise DefinitionError(errors)
    return {
        "trigger": trigger,
        "one_step_per_person": bool(raw.get("one_step_per_person")),
        "conditions_match": conditions_match,
        "conditions": cleaned_conditions,
        "stages": stages,
    }


def _approval_keys(stages: list[dict[str, Any]]) -> list[str]:
    steps = (step for stage in stages for step in stage["steps"])
    return [step["key"] for step in steps if step["type"] == "approval"]


def _check_distinct_from(stages: list[dict[str, Any]], errors: dict[str, str]) -> None:
    """An approval step's "distinct from the approvers of step X" must name another approval
    step of this workflow."""
    approvals = set(_approval_keys(stages))
    for stage_index, stage in enumerate(stages):
        for step_index, step in enumerate(stage["steps"]):
            other = step["config"].get("distinct_from") if step["type"] == "approval" else ""
            if not other:
                continue
            path = f"stages.{stage_index}.steps.{step_index}.config.distinct_from"
            if other == step["key"]:
                errors[path] = "A step cannot be kept apart from itself; choose another step."
            elif other not in approvals:
                errors[path] = f"“{other}” is not an approval step of this workflow."


def steps_kept_apart(definition: dict[str, Any], step_key: str) -> set[str]:
    """The approval steps whose deciders may not decide `step_key` in the same execution:
    every other one when the workflow says one person decides at most one step, else those
    a "distinct from" option ties to it, either way round (whoever decides one first, the
    other is then refused)."""
    stages = definition.get("stages") or []
    if definition.get("one_step_per_person"):
        return set(_approval_keys(stages)) - {step_key}
    apart = set()
    for step in (step for stage in stages for step in stage["steps"]):
        if step["type"] != "approval":
            continue
        other = step["config"].get("distinct_from") or ""
        if step["key"] == step_key and other:
            apart.add(other)
        elif other == step_key:
            apart.add(step["key"])
    return apart - {step_key}


def trigger_summary(trigger: dict[str, Any]) -> str:
    trigger_type = get_trigger(trigger.get("type", ""))
    return trigger_type.summary(trigger) if trigger_type else "No trigger"


# Steps saved before secrets were fields kept the webhook's signing secret under this key.
LEGACY_SECRET_KEY = "secret"  # noqa: S105  (a key name, not a password)


def _secret_names(step: dict[str, Any]) -> frozenset[str]:
    step_type = step_types().get(str(step.get("type") or ""))
    return (step_type.secret_fields() if step_type else frozenset()) | {LEGACY_SECRET_KEY}


def _steps(definition: dict[str, Any]):
    for stage in definition.get("stages") or []:
        if isinstance(stage, dict):
            for step in stage.get("steps") or []:
                if isinstance(step, dict) and isinstance(step.get("config"), dict):
                    yield step


def _header_names(step: dict[str, Any]) -> frozenset[str]:
    step_type = step_types().get(str(step.get("type") or ""))
    return step_type.header_fields() if step_type else frozenset()


def is_secret_row(row: Any) -> bool:
    """A row of a HEADERS field whose value is secret."""
    return isinstance(row, dict) and row.get("secret") in (True, "1", "on", "true")


def _secret_rows(config: dict[str, Any], name: str) -> list[dict[str, Any]]:
    rows = config.get(name)
    return [row for row in rows if is_secret_row(row)] if isinstance(rows, list) else []


def secret_values(definition: dict[str, Any]) -> frozenset[str]:
    """Every secret the definition's steps hold (their types' secret fields and the secret
    rows of their HEADERS fields), to hide."""
    fields = {
        str(step["config"][name])
        for step in _steps(definition)
        for name in _secret_names(step)
        if step["config"].get(name)
    }
    rows = {
        str(row["value"])
        for step in _steps(definition)
        for name in _header_names(step)
        for row in _secret_rows(step["config"], name)
        if row.get("value")
    }
    return frozenset(fields | rows)


HIDDEN = "[hidden]"


def redact(value: Any, secrets: frozenset[str]) -> Any:
    """A copy of `value` with every `secret` key's value, and every known secret, hidden."""
    if isinstance(value, dict):
        return {
            key: HIDDEN if "secret" in str(key).lower() else redact(item, secrets)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item, secrets) for item in value]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, HIDDEN)
    return value


def step_descriptions(definition: dict[str, Any]) -> dict[str, str]:
    """Each step's one line (its type's describe) by step key, the definition's secrets
    hidden: a step type that quotes its config there never shows a secret field."""
    registered, secrets = step_types(), secret_values(definition)
    return {
        step["key"]: redact(registered[step["type"]].describe(step["config"]), secrets)
        if step.get("type") in registered
        else str(step.get("type"))
        for step in _steps(definition)
    }


def _config_without_secrets(step: dict[str, Any]) -> dict[str, Any]:
    """The step's config without its secret fields, and its secret rows without their value."""
    secret, headers = _secret_names(step), _header_names(step)
    config = {name: value for name, value in step["config"].items() if name not in secret}
    for name in headers & set(config):
        if isinstance(config[name], list):
            config[name] = [
                {key: item for key, item in row.items() if key != "value"}
                if is_secret_row(row)
                else row
                for row in config[name]
            ]
    return config


def without_secrets(definition: dict[str, Any]) -> dict[str, Any]:
    """A copy of the definition whose step configs leave their secrets out."""
    return definition | {
        "stages": [
            stage
            | {
                "steps": [
                    step | {"config": _config_without_secrets(step)} for step in stage["steps"]
                ]
            }
            for stage in definition["stages"]
        ]
    }


def carry_over_secrets(
    definition: dict[str, Any], previous: dict[str, Any] | None
) -> dict[str, Any]:
    """The definition with each secret field a step leaves empty filled from the step of the
    same key and type in `previous` (the version it was edited from): the designer and the
    API never show a secret, so a save that sends none back keeps it."""
    if not previous:
        return definition
    definition = copy.deepcopy(definition)
    saved = {(step.get("key"), step.get("type")): step["config"] for step in _steps(previous)}
    for step in _steps(definition):
        config, before = step["config"], saved.get((step.get("key"), step.get("type")), {})
        for name in _secret_names(step) - {LEGACY_SECRET_KEY}:
            if config.get(name) in (None, "") and before.get(name):
                config[name] = before[name]
        for name in _header_names(step):
            # A secret row is matched by its name: the designer and the API show the name only.
            saved_rows = {
                str(row.get("name") or "").strip().lower(): row.get("value")
                for row in _secret_rows(before, name)
            }
            for row in _secret_rows(config, name):
                key = str(row.get("name") or "").strip().lower()
                if row.get("value") in (None, "") and saved_rows.get(key):
                    row["value"] = saved_rows[key]
    return definition
