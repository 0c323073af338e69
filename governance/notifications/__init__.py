"""In-app notifications (and the email that goes with them)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """The notify step type, the email re-send and digest sweeps, and who may open a link to a
    notification."""
    from governance import visibility
    from governance.engine.steps import register_step_type
    from governance.engine.sweeps import register_sweep
    from governance.notifications import (
        digest,
        outbox,
        tasks,  # noqa: F401  (the send task, sent by name)
    )
    from governance.notifications.models import Notification
    from governance.notifications.step import Notify
    from governance.notifications.visibility import can_read_notification

    register_step_type(Notify)
    register_sweep("emails_resent", outbox.resend_stale_emails)
    register_sweep("digests_queued", digest.send_due_digests)
    visibility.register_path_object("notification_id", Notification, can_read_notification)
