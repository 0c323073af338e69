"""In-app notifications (and the email that goes with them)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """What this feature contributes to the engine (its step types, sweeps, subscriptions), and
    who may open a link to a notification."""
    from governance import visibility
    from governance.notifications.models import Notification
    from governance.notifications.visibility import can_read_notification

    visibility.register_path_object("notification_id", Notification, can_read_notification)
