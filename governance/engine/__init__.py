"""The workflow runtime: dispatch, conditions, actions, runner, reconciler. Never imports views."""

from __future__ import annotations


def init_app() -> None:
    """Load the step types and the one Huey task (sent by name, see handoff.py)."""
    from governance.engine import jobs  # noqa: F401
    from governance.engine.actions import load_all

    load_all()
