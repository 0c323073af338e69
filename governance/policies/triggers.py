"""The policy.* triggers: what they are (for the designer and the engine), and how a policy
event starts the active workflows that listen for it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from governance.engine import start
from governance.engine.triggers import TriggerType
from governance.policies.events import PolicyCreated, PolicyStatusChanged, PolicyUpdated
from governance.policies.lifecycle import STATUS_LABELS, STATUSES

# What every policy event's data has (trigger.<name> in templates).
_POLICY_EVENT = ("policy_id", "actor_id", "revision", "status")


def _clean_status_change(raw: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """From and to: a status each, or empty for any."""
    settings = {}
    for name in ("from_status", "to_status"):
        value = str(raw.get(name) or "")
        if value and value not in STATUSES:
            errors[f"trigger.{name}"] = f"Unknown status “{value}”."
        settings[name] = value
    return settings


def _status_change_matches(trigger: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    wanted_from, wanted_to = trigger.get("from_status"), trigger.get("to_status")
    return (not wanted_from or wanted_from == data.get("old_status")) and (
        not wanted_to or wanted_to == data.get("new_status")
    )


def _describe_status_change(trigger: Mapping[str, Any]) -> str:
    source = STATUS_LABELS.get(trigger.get("from_status") or "", "any")
    target = STATUS_LABELS.get(trigger.get("to_status") or "", "any")
    return f"Policy status changed: {source.lower()} → {target.lower()}"


TRIGGER_TYPES = (
    TriggerType("policy.created", "Policy created", position=10, data_fields=_POLICY_EVENT),
    TriggerType(
        "policy.updated", "Policy updated", position=20, data_fields=(*_POLICY_EVENT, "changed")
    ),
    TriggerType(
        "policy.status_changed",
        "Policy status changed",
        position=30,
        data_fields=(*_POLICY_EVENT, "old_status", "new_status", "reason"),
        clean=_clean_status_change,
        matches=_status_change_matches,
        describe=_describe_status_change,
    ),
)

TRIGGER_OF_EVENT = {
    PolicyCreated: "policy.created",
    PolicyUpdated: "policy.updated",
    PolicyStatusChanged: "policy.status_changed",
}


def start_workflows(event: PolicyCreated | PolicyUpdated | PolicyStatusChanged) -> list[int]:
    """In the transaction of the change. Returns the ids of the executions started."""
    payload = dataclasses.asdict(event)
    if "changed" in payload:
        payload["changed"] = list(payload["changed"])
    if payload.get("source_execution_id") is None:
        payload.pop("source_execution_id", None)
    return start.start_matching(TRIGGER_OF_EVENT[type(event)], payload)
