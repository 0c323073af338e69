"""The workflow engine: it starts executions, runs their steps, moves them on and reconciles
what Huey lost. It imports only the platform, audit and itself; features plug into it."""

from __future__ import annotations


def init_app() -> None:
    """Register the built-in wait step, load the one Huey task (sent by name, see handoff.py),
    and register the trigger built into the engine: a cron schedule (the reconciler fires it)."""
    from governance.engine import jobs  # noqa: F401
    from governance.engine.schedule import SCHEDULE_TRIGGER
    from governance.engine.steps import register_step_type
    from governance.engine.triggers import register_trigger
    from governance.engine.wait import Wait

    register_step_type(Wait)  # built in: the engine parks and resumes it itself
    register_trigger(SCHEDULE_TRIGGER)
