"""The workflow runtime: dispatch, conditions, step types, runner, reconciler. Never imports
views."""

from __future__ import annotations


def init_app() -> None:
    """Register the built-in wait step and hook enqueue-after-commit onto sessions."""
    from governance.engine import enqueue
    from governance.engine.steps import register_step_type
    from governance.engine.wait import Wait

    register_step_type(Wait)  # built in: the engine parks and resumes it itself
    enqueue.init_app()
