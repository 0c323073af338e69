"""In-app notifications (and the email that goes with them)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """The notify step type."""
    from governance.engine.steps import register_step_type
    from governance.notifications.step import Notify

    register_step_type(Notify)
