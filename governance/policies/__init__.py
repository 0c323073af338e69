"""Governance policies: their lifecycle, revisions and pages."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """A policy's events start the workflows whose trigger matches them (the policy.* triggers);
    the policy context (what a step reads about its policy); the set-status and assign step
    types; a link to a policy opens for who may read it, and a notification linking to it is of
    the policy kind."""
    from governance import events, visibility
    from governance.engine.context import register_context
    from governance.engine.steps import register_step_type
    from governance.engine.triggers import register_trigger
    from governance.notifications.kinds import register_kind
    from governance.policies import triggers
    from governance.policies.context import POLICY_CONTEXT
    from governance.policies.events import PolicyCreated, PolicyStatusChanged, PolicyUpdated
    from governance.policies.models import Policy
    from governance.policies.notification_kind import POLICY_NOTIFICATIONS
    from governance.policies.steps import Assign, SetStatus
    from governance.policies.visibility import can_read_policy

    visibility.register_path_object("policy_id", Policy, can_read_policy)
    register_kind(POLICY_NOTIFICATIONS)

    register_context(POLICY_CONTEXT)
    for trigger_type in triggers.TRIGGER_TYPES:
        register_trigger(trigger_type)
    # One call per type: over a loop a type checker sees only their common base, Event, which
    # start_workflows does not take.
    events.subscribe(PolicyCreated, triggers.start_workflows)
    events.subscribe(PolicyUpdated, triggers.start_workflows)
    events.subscribe(PolicyStatusChanged, triggers.start_workflows)
    register_step_type(SetStatus)
    register_step_type(Assign)
