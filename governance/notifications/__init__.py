"""In-app notifications (and the email that goes with them)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """The notify step type, and who may open a link to a notification."""
    from governance import visibility
    from governance.engine.steps import register_step_type
    from governance.notifications.models import Notification
    from governance.notifications.step import Notify
    from governance.notifications.visibility import can_read_notification

    register_step_type(Notify)
    visibility.register_path_object("notification_id", Notification, can_read_notification)
