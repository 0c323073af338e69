"""Governance policies: their lifecycle, revisions and pages."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """A policy's events start the workflows whose trigger matches them; the set-status and
    assign step types; a link to a policy opens for who may read it."""
    from governance import events, visibility
    from governance.engine.steps import register_step_type
    from governance.policies import triggers
    from governance.policies.events import PolicyCreated, PolicyStatusChanged, PolicyUpdated
    from governance.policies.models import Policy
    from governance.policies.steps import Assign, SetStatus
    from governance.policies.visibility import can_read_policy

    visibility.register_path_object("policy_id", Policy, can_read_policy)

    # One call per type: over a loop a type checker sees only their common base, Event, which
    # start_workflows does not take.
    events.subscribe(PolicyCreated, triggers.start_workflows)
    events.subscribe(PolicyUpdated, triggers.start_workflows)
    events.subscribe(PolicyStatusChanged, triggers.start_workflows)
    register_step_type(SetStatus)
    register_step_type(Assign)
