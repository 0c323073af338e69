"""Retry delays and cron schedules."""

import random
from datetime import UTC, datetime

import pytest

from governance.engine.backoff import retry_delay
from governance.engine.schedule import CronError, check_cron, describe, next_runs


def test_exponential_backoff_ceilings_double_with_full_jitter():
    rng = random.Random(7)
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80)]:
        delays = [retry_delay(attempt, base_seconds=10, rng=rng) for _ in range(200)]
        assert min(delays) >= 0 and max(delays) <= ceiling
        assert max(delays) > ceiling * 0.8  # jitter spreads over the whole range


def test_backoff_is_capped_and_fixed_backoff_is_fixed():
    assert retry_delay(30, base_seconds=10, cap_seconds=60, rng=random.Random(1)) <= 60
    assert retry_delay(5, base_seconds=7, kind="fixed") == 7


def test_cron_next_runs_and_words():
    start = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
    runs = next_runs("0 9 * * 1", 3, after=start)
    assert [run.isoformat() for run in runs] == [
        "2026-11-30T09:00:00+00:00",
        "2026-12-07T09:00:00+00:00",
        "2026-12-14T09:00:00+00:00",
    ]
    assert "Monday" in describe("0 9 * * 1")


@pytest.mark.parametrize("expression", ["", "* * *", "61 * * * *", "0 9 * * 8", "every day"])
def test_bad_cron_expressions_are_refused(expression):
    with pytest.raises(CronError):
        check_cron(expression)
