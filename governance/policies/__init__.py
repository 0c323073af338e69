"""Governance policies: their lifecycle, revisions and pages."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """A policy's events start the workflows whose trigger matches them; the set-status and
    assign step types."""
    from governance import events
    from governance.engine.steps import register_step_type
    from governance.policies import triggers
    from governance.policies.events import PolicyCreated, PolicyStatusChanged, PolicyUpdated
    from governance.policies.steps import Assign, SetStatus

    for event_type in (PolicyCreated, PolicyUpdated, PolicyStatusChanged):
        events.subscribe(event_type, triggers.start_workflows)
    register_step_type(SetStatus)
    register_step_type(Assign)
