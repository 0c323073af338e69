"""The workflow engine: it starts executions, runs their steps, moves them on and reconciles
what Huey lost. It imports only the platform, audit and itself; features plug into it."""

from __future__ import annotations


def init_app() -> None:
    """Load the step types and the one Huey task (sent by name, see handoff.py)."""
    from governance.engine import jobs  # noqa: F401
    from governance.engine.actions import load_all

    load_all()
