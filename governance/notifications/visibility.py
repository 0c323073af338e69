"""Who may read a notification: the person it is for, no one else."""

from __future__ import annotations

from governance.auth.models import User
from governance.notifications.models import Notification


def can_read_notification(user: User, notification: Notification) -> bool:
    return notification.user_id == user.id
