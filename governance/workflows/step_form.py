"""What the two designers (the whole form and the diagram's step panel) both need to read a
step's fields and offer its template tools."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_login import current_user

from governance.auth import service as accounts
from governance.engine import template_names
from governance.engine.conditions import FIELD_LABELS, OPERATORS
from governance.engine.steps import step_types
from governance.policies import service as policies
from governance.workflows import template_preview


def multi_value_fields(step_type: str) -> frozenset[str]:
    """The config fields of `step_type` that carry several values (editor.parse reads them
    with getlist)."""
    action = step_types().get(step_type)
    if action is None:
        return frozenset()
    return frozenset(f.name for f in action.fields if f.multi_value)


# Policies listed under a template field to preview it with (by title).
PREVIEW_POLICIES = 20


def template_tools(draft: dict[str, Any]) -> dict[str, Any]:
    """What each template field offers: the names its step can insert (by stage), and its
    preview against the policy chosen under it."""
    earlier: list[str] = []
    stage_variables = []
    for stage in draft["stages"]:
        trigger_type = draft["trigger"].get("type")
        stage_variables.append(template_names.variables_for(trigger_type, earlier))
        earlier = earlier + [step["key"] for step in stage["steps"] if step["key"]]
    form = request.form if request.method == "POST" else {}
    return {
        "stage_variables": stage_variables,
        "preview_policies": policies.find_policies("", current_user, limit=PREVIEW_POLICIES),
        "previews": template_preview.previews(draft, form, current_user),
    }


def step_fields_context(definition: dict[str, Any]) -> dict[str, Any]:
    """What templates/workflows/_step_fields.html reads for the steps of `definition`, besides
    the errors: the step types, operators, condition fields, people and groups to choose,
    the approval steps another may be kept distinct from, and the template tools."""
    return {
        "actions": step_types(),
        "operators": OPERATORS,
        "fields": FIELD_LABELS,
        "users": accounts.list_users(),
        "groups": accounts.list_groups(),
        "approval_keys": [
            step["key"]
            for stage in definition["stages"]
            for step in stage["steps"]
            if step["type"] == "approval" and step["key"]
        ],
        "template_names": template_names.names_for(definition["trigger"].get("type")),
        **template_tools(definition),
    }
