"""Tasks created by workflows for a person to do."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """The create-task step type, and who may open a link to a task."""
    from governance import visibility
    from governance.engine.steps import register_step_type
    from governance.tasks.models import Task
    from governance.tasks.step import CreateTask
    from governance.tasks.visibility import can_read_task

    register_step_type(CreateTask)
    visibility.register_path_object("task_id", Task, can_read_task)
