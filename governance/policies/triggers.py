"""The policy.* triggers: a policy event starts the active workflows that listen for it."""

from __future__ import annotations

import dataclasses

from governance.engine import start
from governance.policies.events import PolicyCreated, PolicyStatusChanged, PolicyUpdated

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
