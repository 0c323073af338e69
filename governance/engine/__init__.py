"""The workflow runtime: dispatch, conditions, actions, runner, reconciler. Never imports views."""

from __future__ import annotations


def init_app() -> None:
    """Load the step types and hook enqueue-after-commit onto sessions."""
    from governance.engine import enqueue
    from governance.engine.actions import load_all

    load_all()
    enqueue.init_app()
