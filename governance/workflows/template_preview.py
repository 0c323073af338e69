"""The designer's template preview: a step's template field rendered by the engine's own
templating, against a chosen policy and the dry run's stand-ins for the trigger's data; steps
of earlier stages have not run, so what a template reads of them is listed, not invented."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from governance.auth.models import User
from governance.engine import template_names, templating
from governance.engine.dryrun import stand_in_data
from governance.engine.steps import step_types
from governance.errors import NotFound
from governance.parsing import parse_int
from governance.policies import service as policies

# The name of the policy select under a template field: POLICY_FIELD + the field's name.
POLICY_FIELD = "preview-policy-"


@dataclass
class TemplatePreview:
    name: str  # the template's form field, which is also its input's id
    text: str = ""
    error: str = ""
    # Names the data did not have (an earlier step's output, a missing policy): empty here.
    undefined: list[str] = field(default_factory=list)
    policy_id: int | None = None


@dataclass(frozen=True)
class _TemplateField:
    name: str  # the form field
    source: str
    trigger: dict[str, Any]
    earlier_steps: frozenset[str]
    same_stage_steps: frozenset[str]


def _template_fields(draft: dict[str, Any]) -> Iterator[_TemplateField]:
    registered = step_types()
    earlier: set[str] = set()
    for s, stage in enumerate(draft.get("stages") or []):
        keys = frozenset(step.get("key") or "" for step in stage["steps"])
        for k, step in enumerate(stage["steps"]):
            step_type = registered.get(step.get("type") or "")
            for config_field in step_type.fields if step_type else ():
                if config_field.template:
                    yield _TemplateField(
                        f"stage-{s}-step-{k}-cfg-{config_field.name}",
                        str(step["config"].get(config_field.name) or ""),
                        draft["trigger"],
                        frozenset(earlier),
                        keys,
                    )
        earlier |= keys


def trigger_data_for(trigger: dict[str, Any], status: str | None) -> dict[str, Any]:
    """The trigger's data for a run on a policy in `status` (the dry run's choice too)."""
    return {
        "old_status": trigger.get("from_status") or status,
        "new_status": trigger.get("to_status") or status,
        "changed": [],
    }


def _policy_id(text: str, user: User) -> int | None:
    """The chosen policy's id; ValueError saying why it cannot be used."""
    if not text.strip():
        return None
    try:
        return policies.get_visible_policy(parse_int(text), user).id
    except NotFound as error:
        raise ValueError(f"There is no policy {text.strip()}; choose one from the list.") from error


def _render(found: _TemplateField, policy_text: str, user: User) -> TemplatePreview:
    preview = TemplatePreview(found.name)
    try:
        preview.policy_id = _policy_id(policy_text, user)
        unknown = template_names.unknown_names(
            found.source,
            trigger_type=found.trigger.get("type"),
            earlier_steps=found.earlier_steps,
            same_stage_steps=found.same_stage_steps,
        )
    except ValueError as refusal:  # TemplateError is one: the template does not parse
        preview.error = str(refusal)
        return preview
    if unknown:
        preview.error = f"Unknown name(s): {', '.join(unknown)}."
        return preview
    data = stand_in_data(found.trigger.get("type") or "", preview.policy_id, {})
    data["trigger"] |= trigger_data_for(found.trigger, data.get("policy", {}).get("status"))
    # Earlier steps have not run: their output is there, empty, so each name read of it is
    # listed as undefined (as a dry run lists it) rather than failing the preview.
    data["steps"] = {key: {"output": {}} for key in found.earlier_steps}
    try:
        with templating.undefined_names_recorded() as undefined:
            preview.text = templating.render(found.source, data)
        preview.undefined = undefined
    except templating.TemplateError as error:
        preview.error = str(error)
    return preview


def preview_field(
    draft: dict[str, Any], name: str, policy_text: str, user: User
) -> TemplatePreview | None:
    """The preview of the template field `name` (stage-<s>-step-<k>-cfg-<field>) of the draft;
    None if it is not one."""
    for found in _template_fields(draft):
        if found.name == name:
            return _render(found, policy_text, user)
    return None


def previews(
    draft: dict[str, Any], form: Mapping[str, str], user: User
) -> dict[str, TemplatePreview]:
    """Every template field's preview, each against the policy chosen under it in `form`."""
    return {
        found.name: _render(found, form.get(POLICY_FIELD + found.name, ""), user)
        for found in _template_fields(draft)
    }
