"""Tasks created by workflows for a person to do."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """What this feature contributes to the engine (its step types, sweeps, subscriptions), and
    who may open a link to a task."""
    from governance import visibility
    from governance.tasks.models import Task
    from governance.tasks.visibility import can_read_task

    visibility.register_path_object("task_id", Task, can_read_task)
