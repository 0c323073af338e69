"""How a moment reads on a page: relative to now ("in 3 h", "yesterday") and exactly, in the
reader's time zone. Pure: the caller passes the zone and the current time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from governance.timeutil import as_utc

ZONE_NAME_MAX = 64


@cache
def zone_names() -> frozenset[str]:
    """The IANA names this system knows ("Europe/Berlin", "UTC", ...)."""
    return frozenset(available_timezones())


def zone_named(name: str | None) -> ZoneInfo | None:
    """The zone of that name, or None when the name is empty or unknown (never an error: a
    cookie may hold anything)."""
    if not name or len(name) > ZONE_NAME_MAX or name not in zone_names():
        return None
    return ZoneInfo(name)


def resolve_zone(setting: str | None, browser: str | None) -> tzinfo:
    """The account's own zone, else the one the browser reported, else UTC."""
    return zone_named(setting) or zone_named(browser) or UTC


def zone_label(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or "UTC"


def exact(moment: datetime, zone: tzinfo) -> str:
    """'4 Dec 2026, 14:05 CET (Europe/Berlin)': the abbreviation says which side of a DST
    change the time is on, the name which zone it is."""
    local = as_utc(moment).astimezone(zone)
    name = zone_label(zone)
    abbreviation = local.strftime("%Z")
    suffix = abbreviation if abbreviation == name else f"{abbreviation} ({name})"
    return f"{local.day} {local:%b %Y, %H:%M} {suffix}"


def relative(moment: datetime, now: datetime, zone: tzinfo) -> str:
    """'just now', '5 min ago', 'in 3 h', 'yesterday', 'in 4 days', or the date when more than
    a week away. Days count calendar days in `zone`: at 9 in the morning, 8 in the evening two
    days before (37 hours ago) is '2 days ago', not 'yesterday'."""
    # In UTC: two times of one zone subtract as wall clocks, wrong across a DST change.
    moment, now = as_utc(moment), as_utc(now)
    seconds = (moment - now).total_seconds()
    future = seconds > 0
    seconds = abs(seconds)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return _phrase(f"{int(seconds // 60)} min", future)
    days = abs((moment.astimezone(zone).date() - now.astimezone(zone).date()).days)
    # A day of 25 hours (DST ends) can hold more than 24 hours on one date.
    if seconds < 86400 or days == 0:
        return _phrase(f"{int(seconds // 3600)} h", future)
    if days == 1:
        return "tomorrow" if future else "yesterday"
    if days < 7:
        return _phrase(f"{days} days", future)
    local = moment.astimezone(zone)
    if local.year == now.astimezone(zone).year:
        return f"{local.day} {local:%b}"
    return f"{local.day} {local:%b %Y}"


@dataclass(frozen=True)
class Moment:
    """What the `when` macro prints: the machine-readable UTC time, the exact local time and
    the relative phrase."""

    iso: str
    exact: str
    relative: str


def describe(value: datetime, now: datetime, zone: tzinfo) -> Moment:
    value = as_utc(value)
    return Moment(
        iso=value.isoformat(),
        exact=exact(value, zone),
        relative=relative(value, now, zone),
    )


def _phrase(amount: str, future: bool) -> str:
    return f"in {amount}" if future else f"{amount} ago"
