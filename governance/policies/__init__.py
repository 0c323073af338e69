"""Governance policies: their lifecycle, revisions and pages."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """The policy.* triggers and the policy context (what a step reads about its policy); a
    policy's events start the workflows whose trigger matches them."""
    from governance import events
    from governance.engine.context import register_context
    from governance.engine.triggers import register_trigger
    from governance.policies import triggers
    from governance.policies.context import POLICY_CONTEXT
    from governance.policies.events import PolicyCreated, PolicyStatusChanged, PolicyUpdated

    register_context(POLICY_CONTEXT)
    for trigger_type in triggers.TRIGGER_TYPES:
        register_trigger(trigger_type)
    for event_type in (PolicyCreated, PolicyUpdated, PolicyStatusChanged):
        events.subscribe(event_type, triggers.start_workflows)
