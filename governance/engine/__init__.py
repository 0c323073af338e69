"""The workflow runtime: dispatch, conditions, actions, runner, reconciler. Never imports views."""

from __future__ import annotations


def init_app() -> None:
    """Load the step types and the one Huey task, and subscribe dispatch to policy events."""
    from governance.engine import dispatch, jobs  # noqa: F401  (jobs: the task sent by name)
    from governance.engine.actions import load_all

    load_all()
    dispatch.subscribe_to_policy_events()
