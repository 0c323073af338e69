"""A user's own settings: how they hear about things (read by notifications when it sends)."""

from __future__ import annotations

from governance.auth.models import NOTIFY_CHOICES, User
from governance.errors import DomainError
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work


@unit_of_work()
def set_notification_preference(user: User, notify_by: str) -> None:
    """How this user hears about things.

    Choosing the digest starts its 24-hour window now, so the first digest does not repeat
    notifications that were already emailed one by one.
    """
    if notify_by not in NOTIFY_CHOICES:
        raise DomainError("Choose one of the offered ways to be notified.", field="notify_by")
    if notify_by == "digest" and user.notify_by != "digest":
        user.digest_sent_at = utcnow()
    user.notify_by = notify_by
