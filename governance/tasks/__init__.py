"""Tasks created by workflows for a person to do."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """The create-task step type."""
    from governance.engine.steps import register_step_type
    from governance.tasks.step import CreateTask

    register_step_type(CreateTask)
