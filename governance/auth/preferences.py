"""A user's own settings: how they hear about things (read by notifications when it sends), and
how pages look to them (colour scheme, time zone)."""

from __future__ import annotations

from governance.auth.models import NOTIFY_CHOICES, THEME_CHOICES, User
from governance.errors import DomainError
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work
from governance.web.times import ZONE_NAME_MAX, zone_named


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


def check_time_zone(name: str | None) -> str | None:
    """The zone name to store: None for "the browser's"; an unknown name is refused."""
    name = (name or "").strip()
    if not name:
        return None
    if zone_named(name) is None:
        shown = name if len(name) <= ZONE_NAME_MAX else name[:ZONE_NAME_MAX] + "…"
        raise DomainError(
            f"“{shown}” is not a time zone Steward knows. Choose one from the list, "
            "e.g. Europe/Berlin, or your browser's.",
            field="time_zone",
        )
    return name


@unit_of_work()
def set_display_preferences(user: User, theme: str, time_zone: str | None) -> None:
    """The colour scheme and the time zone of this user's pages."""
    if theme not in THEME_CHOICES:
        raise DomainError("Choose one of the offered colour schemes.", field="theme")
    user.time_zone = check_time_zone(time_zone)
    user.theme = theme
