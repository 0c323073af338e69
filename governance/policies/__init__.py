"""Governance policies: their lifecycle, revisions and pages."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """A policy's events start the workflows whose trigger matches them."""
    from governance import events
    from governance.policies import triggers
    from governance.policies.events import PolicyCreated, PolicyStatusChanged, PolicyUpdated

    # One call per type: over a loop a type checker sees only their common base, Event, which
    # start_workflows does not take.
    events.subscribe(PolicyCreated, triggers.start_workflows)
    events.subscribe(PolicyUpdated, triggers.start_workflows)
    events.subscribe(PolicyStatusChanged, triggers.start_workflows)
