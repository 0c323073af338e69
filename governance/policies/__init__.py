"""Governance policies: their lifecycle, revisions and pages."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """A policy's events start the workflows whose trigger matches them."""
    from governance import events
    from governance.policies import triggers
    from governance.policies.events import PolicyCreated, PolicyStatusChanged, PolicyUpdated

    for event_type in (PolicyCreated, PolicyUpdated, PolicyStatusChanged):
        events.subscribe(event_type, triggers.start_workflows)
