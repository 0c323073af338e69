"""How times read on a page (governance/web/times.py): relative phrases either side of now,
calendar days counted in the reader's zone, exact times that say which side of a DST change
they are on, and the zone chosen from the account, the browser or UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from governance.web.times import describe, exact, relative, resolve_zone, zone_named

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # 16:00 in Berlin


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (timedelta(seconds=0), "just now"),
        (timedelta(seconds=-59), "just now"),
        (timedelta(seconds=59), "just now"),
        (timedelta(minutes=-5), "5 min ago"),
        (timedelta(minutes=5, seconds=30), "in 5 min"),
        (timedelta(minutes=-59, seconds=-59), "59 min ago"),
        (timedelta(hours=3), "in 3 h"),
        (timedelta(hours=-3, minutes=-59), "3 h ago"),
        (timedelta(hours=-23), "23 h ago"),
        (timedelta(hours=-24), "yesterday"),
        (timedelta(hours=30), "tomorrow"),
        (timedelta(days=-3), "3 days ago"),
        (timedelta(days=6), "in 6 days"),
        (timedelta(days=-8), "26 Nov"),
        (timedelta(days=40), "13 Jan 2027"),
    ],
)
def test_relative_phrases_either_side_of_now(offset, expected):
    assert relative(NOW + offset, NOW, BERLIN) == expected


def test_days_are_calendar_days_in_the_readers_zone():
    # 40 hours before now is 00:00 on 3 Dec in Berlin, but 15:00 on 2 Dec in Los Angeles.
    moment = NOW - timedelta(hours=40)
    assert relative(moment, NOW, BERLIN) == "yesterday"
    assert relative(moment, NOW, ZoneInfo("America/Los_Angeles")) == "2 days ago"


def test_a_25_hour_day_is_still_one_day_in_hours():
    # DST ends in Berlin on 25 Oct 2026: that day has 25 hours, 00:30 to 23:50 is one date.
    zone = BERLIN
    start = datetime(2026, 10, 25, 0, 30, tzinfo=zone)
    end = datetime(2026, 10, 25, 23, 50, tzinfo=zone)
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() > 86400
    assert relative(start, end, zone) == "24 h ago"


def test_exact_times_follow_daylight_saving_in_the_zone():
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert exact(summer, BERLIN) == "1 Jul 2026, 14:00 CEST (Europe/Berlin)"
    assert exact(winter, BERLIN) == "1 Dec 2026, 13:00 CET (Europe/Berlin)"
    # Either side of the spring change in New York (8 Mar 2026, 02:00 local).
    new_york = ZoneInfo("America/New_York")
    before = datetime(2026, 3, 8, 6, 59, tzinfo=UTC)
    after = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert exact(before, new_york) == "8 Mar 2026, 01:59 EST (America/New_York)"
    assert exact(after, new_york) == "8 Mar 2026, 03:00 EDT (America/New_York)"


def test_utc_is_named_once_and_a_naive_time_means_utc():
    assert exact(datetime(2026, 12, 4, 9, 5), UTC) == "4 Dec 2026, 09:05 UTC"
    assert exact(datetime(2026, 12, 4, 9, 5), ZoneInfo("UTC")) == "4 Dec 2026, 09:05 UTC"


def test_describe_keeps_the_machine_time_in_utc():
    moment = datetime(2026, 12, 4, 16, 30, tzinfo=BERLIN)
    described = describe(moment, NOW, BERLIN)
    assert described.iso == "2026-12-04T15:30:00+00:00"
    assert described.relative == "in 30 min"
    assert described.exact == "4 Dec 2026, 16:30 CET (Europe/Berlin)"


@pytest.mark.parametrize(
    ("setting", "browser", "expected"),
    [
        ("Europe/Berlin", "Asia/Tokyo", "Europe/Berlin"),
        (None, "Asia/Tokyo", "Asia/Tokyo"),
        ("", "Asia/Tokyo", "Asia/Tokyo"),
        (None, "Mars/Olympus_Mons", "UTC"),
        (None, "../../etc/passwd", "UTC"),
        (None, "Europe/" + "x" * 100, "UTC"),
        ("Not/A_Zone", None, "UTC"),
        (None, None, "UTC"),
    ],
)
def test_the_zone_is_the_accounts_else_the_browsers_else_utc(setting, browser, expected):
    zone = resolve_zone(setting, browser)
    assert getattr(zone, "key", "UTC") == expected


def test_only_known_zone_names_are_zones():
    assert zone_named("Europe/Berlin") == BERLIN
    assert zone_named("europe/berlin") is None
    assert zone_named("") is None and zone_named(None) is None
