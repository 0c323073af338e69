"""Review date arithmetic: anchored cadences, month ends, leap years, late and early reviews."""

from datetime import date

import pytest

from governance.policies.cadence import (
    add_months,
    default_first_review,
    describe,
    first_date_after,
    next_review_on,
    nth_review_date,
)


@pytest.mark.parametrize(
    ("anchor", "frequency", "n", "expected"),
    [
        (date(2026, 1, 15), "monthly", 0, date(2026, 1, 15)),
        (date(2026, 1, 15), "monthly", 1, date(2026, 2, 15)),
        (date(2026, 11, 30), "monthly", 2, date(2027, 1, 30)),
        (date(2026, 1, 15), "quarterly", 1, date(2026, 4, 15)),
        (date(2026, 1, 15), "quarterly", 4, date(2027, 1, 15)),
        (date(2026, 3, 10), "yearly", 1, date(2027, 3, 10)),
        (date(2026, 3, 10), "yearly", 3, date(2029, 3, 10)),
        # Month ends clamp, but every date stays anchored on the 31st.
        (date(2026, 1, 31), "monthly", 1, date(2026, 2, 28)),
        (date(2026, 1, 31), "monthly", 2, date(2026, 3, 31)),
        (date(2026, 1, 31), "monthly", 3, date(2026, 4, 30)),
        (date(2026, 1, 31), "monthly", 4, date(2026, 5, 31)),
        (date(2028, 1, 31), "monthly", 1, date(2028, 2, 29)),
        (date(2026, 11, 30), "quarterly", 1, date(2027, 2, 28)),
        (date(2026, 11, 30), "quarterly", 2, date(2027, 5, 30)),
        (date(2026, 8, 31), "quarterly", 2, date(2027, 2, 28)),
        (date(2026, 8, 31), "quarterly", 3, date(2027, 5, 31)),
        # 29 February: 28 February in common years, 29 February again in leap years.
        (date(2028, 2, 29), "yearly", 1, date(2029, 2, 28)),
        (date(2028, 2, 29), "yearly", 3, date(2031, 2, 28)),
        (date(2028, 2, 29), "yearly", 4, date(2032, 2, 29)),
        (date(2100, 2, 28), "yearly", 0, date(2100, 2, 28)),
        (date(2096, 2, 29), "yearly", 4, date(2100, 2, 28)),  # 2100 is not a leap year
        (date(2026, 1, 1), "custom", 1, date(2026, 2, 15)),
        (date(2026, 12, 20), "custom", 2, date(2027, 3, 20)),
    ],
)
def test_nth_review_date_counts_from_the_anchor(anchor, frequency, n, expected):
    interval = 45 if frequency == "custom" else None
    assert nth_review_date(anchor, frequency, n, interval) == expected


@pytest.mark.parametrize(
    ("anchor", "frequency", "after", "expected"),
    [
        (date(2026, 1, 31), "monthly", date(2026, 1, 31), date(2026, 2, 28)),
        (date(2026, 1, 31), "monthly", date(2026, 2, 28), date(2026, 3, 31)),
        (date(2026, 1, 31), "monthly", date(2026, 3, 30), date(2026, 3, 31)),
        (date(2026, 1, 31), "monthly", date(2027, 2, 10), date(2027, 2, 28)),
        (date(2026, 6, 1), "monthly", date(2026, 1, 1), date(2026, 6, 1)),  # anchor still ahead
        (date(2028, 2, 29), "yearly", date(2031, 3, 1), date(2032, 2, 29)),
        (date(2026, 1, 1), "quarterly", date(2026, 3, 31), date(2026, 4, 1)),
        (date(2026, 1, 1), "quarterly", date(2026, 4, 1), date(2026, 7, 1)),
        (date(2026, 1, 1), "custom", date(2026, 1, 10), date(2026, 1, 11)),
        (date(2026, 1, 1), "custom", date(2026, 1, 11), date(2026, 1, 21)),
    ],
)
def test_first_date_after_is_strictly_later_and_on_the_schedule(anchor, frequency, after, expected):
    interval = 10 if frequency == "custom" else None
    assert first_date_after(anchor, frequency, after, interval) == expected


@pytest.mark.parametrize(
    ("due_on", "today", "expected"),
    [
        # Done on time: the following date.
        (date(2026, 3, 31), date(2026, 3, 31), date(2026, 4, 30)),
        # Done late (in April, for March): the schedule does not shift.
        (date(2026, 3, 31), date(2026, 4, 12), date(2026, 4, 30)),
        # So late that April's date passed too: the first date after today.
        (date(2026, 3, 31), date(2026, 5, 2), date(2026, 5, 31)),
        # Done early (a week before): moves to the one after the date it answered.
        (date(2026, 3, 31), date(2026, 3, 24), date(2026, 4, 30)),
        (None, date(2026, 3, 24), date(2026, 3, 31)),
    ],
)
def test_next_review_after_a_review(due_on, today, expected):
    assert next_review_on(date(2026, 1, 31), "monthly", due_on=due_on, today=today) == expected


def test_default_first_review_is_one_period_from_today():
    today = date(2027, 1, 31)
    assert default_first_review("monthly", today) == date(2027, 2, 28)
    assert default_first_review("quarterly", today) == date(2027, 4, 30)
    assert default_first_review("yearly", date(2028, 2, 29)) == date(2029, 2, 28)
    assert default_first_review("custom", today, 14) == date(2027, 2, 14)


def test_add_months_crosses_years_both_ways():
    assert add_months(date(2026, 12, 31), 2) == date(2027, 2, 28)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)


def test_bad_cadences_are_refused():
    with pytest.raises(ValueError):
        nth_review_date(date(2026, 1, 1), "weekly", 1)
    with pytest.raises(ValueError):
        nth_review_date(date(2026, 1, 1), "custom", 1, None)


def test_describe_names_the_cadence():
    assert describe(None, None) == "No review cadence"
    assert describe("quarterly", None) == "Quarterly"
    assert describe("custom", 1) == "Every 1 day"
    assert describe("custom", 45) == "Every 45 days"
