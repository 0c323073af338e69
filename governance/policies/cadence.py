"""A policy's review cadence and its date arithmetic: pure functions, no database, no Flask.

A cadence is a frequency (monthly, quarterly, yearly, or custom every N days) counted from an
anchor, the first intended review date. The n-th review date is always computed from the
anchor, never from the previous date, so a month end that had to be clamped (31 Jan -> 28 Feb)
comes back (-> 31 Mar), and a review done late does not push every later date back.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}
FREQUENCIES = (*MONTHS, "custom")
FREQUENCY_LABELS = {
    "monthly": "Monthly",
    "quarterly": "Quarterly",
    "yearly": "Yearly",
    "custom": "Custom",
}
MAX_CUSTOM_DAYS = 3660


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later, clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _check(frequency: str, interval_days: int | None) -> None:
    if frequency not in FREQUENCIES:
        raise ValueError(f"unknown review frequency {frequency!r}")
    if frequency == "custom" and not (interval_days and interval_days > 0):
        raise ValueError("a custom cadence needs a positive number of days")


def nth_review_date(anchor: date, frequency: str, n: int, interval_days: int | None = None) -> date:
    """The n-th scheduled review date (n = 0 is the anchor itself)."""
    _check(frequency, interval_days)
    if frequency == "custom":
        assert interval_days is not None  # _check refused a custom cadence without days
        return anchor + timedelta(days=n * interval_days)
    return add_months(anchor, n * MONTHS[frequency])


def first_date_after(
    anchor: date, frequency: str, after: date, interval_days: int | None = None
) -> date:
    """The first scheduled date strictly after `after` (the anchor if it is later)."""
    _check(frequency, interval_days)
    if anchor > after:
        return anchor
    if frequency == "custom":
        assert interval_days is not None  # _check refused a custom cadence without days
        n = (after - anchor).days // interval_days + 1
        return nth_review_date(anchor, frequency, n, interval_days)
    step = MONTHS[frequency]
    months_between = (after.year - anchor.year) * 12 + after.month - anchor.month
    # Start one period early: clamping can put the estimate's date before or after `after`.
    n = max(0, months_between // step - 1)
    while nth_review_date(anchor, frequency, n) <= after:
        n += 1
    return nth_review_date(anchor, frequency, n)


def next_review_on(
    anchor: date,
    frequency: str,
    *,
    due_on: date | None,
    today: date,
    interval_days: int | None = None,
) -> date:
    """The review date after a review done `today` that answered the one due `due_on`.

    The first scheduled date strictly after max(due_on, today): a review done late keeps the
    schedule (the next date is the following one on it), one done early moves to the date after
    the one it answered.
    """
    after = max(due_on, today) if due_on else today
    return first_date_after(anchor, frequency, after, interval_days)


def default_first_review(frequency: str, today: date, interval_days: int | None = None) -> date:
    """One period from today: the first review date when none was chosen."""
    return nth_review_date(today, frequency, 1, interval_days)


def describe(frequency: str | None, interval_days: int | None) -> str:
    """ "Monthly", "Every 45 days", or "No review cadence"."""
    if not frequency:
        return "No review cadence"
    if frequency == "custom":
        return f"Every {interval_days} day{'s' if interval_days != 1 else ''}"
    return FREQUENCY_LABELS[frequency]
