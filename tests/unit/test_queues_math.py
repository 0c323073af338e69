"""The queue page's pure arithmetic: percentiles from duration buckets, which bucket a run
falls in, chart scales and the SVG geometry of the per-minute chart (no app, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from governance.queues import charts
from governance.queues.charts import minute_chart, nice_ceiling
from governance.queues.models import DURATION_BUCKET_COLUMNS, DURATION_BUCKETS_MS
from governance.queues.recorder import duration_bucket
from governance.queues.stats import MinutePoint, percentile_from_buckets

BUCKETS = len(DURATION_BUCKET_COLUMNS)
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def counts(**by_column: int) -> list[int]:
    return [by_column.get(column, 0) for column in DURATION_BUCKET_COLUMNS]


# ------------------------------------------------------------------ percentiles


def test_no_runs_have_no_percentile():
    assert percentile_from_buckets([0] * BUCKETS, 0.5) is None
    assert percentile_from_buckets([0] * BUCKETS, 0.95) is None


def test_runs_in_one_bucket_are_spread_evenly_across_it():
    # Ten runs between 50 and 100 ms.
    only = counts(under_100ms=10)

    assert percentile_from_buckets(only, 0.5) == pytest.approx(75.0)
    assert percentile_from_buckets(only, 0.95) == pytest.approx(97.5)
    assert percentile_from_buckets(only, 1.0) == pytest.approx(100.0)


def test_a_percentile_interpolates_within_the_bucket_it_falls_in():
    # Ten runs up to 10 ms, ten between 10 and 25 ms, none slower.
    two = counts(under_10ms=10, under_25ms=10)

    assert percentile_from_buckets(two, 0.5) == pytest.approx(10.0)
    assert percentile_from_buckets(two, 0.25) == pytest.approx(5.0)
    assert percentile_from_buckets(two, 0.75) == pytest.approx(17.5)
    assert percentile_from_buckets(two, 0.95) == pytest.approx(23.5)


def test_empty_buckets_between_runs_are_skipped():
    # Half the runs up to 10 ms, half between 5 and 10 s.
    split = counts(under_10ms=50, under_10s=50)

    assert percentile_from_buckets(split, 0.5) == pytest.approx(10.0)
    assert percentile_from_buckets(split, 0.95) == pytest.approx(5_000 + 5_000 * 0.9)


def test_the_open_ended_bucket_reports_its_lower_bound():
    slow = counts(over_60s=4)

    assert percentile_from_buckets(slow, 0.5) == 60_000
    assert percentile_from_buckets(slow, 0.95) == 60_000
    mixed = counts(under_1s=19, over_60s=1)
    assert percentile_from_buckets(mixed, 0.95) == pytest.approx(1_000.0)
    assert percentile_from_buckets(mixed, 0.99) == 60_000


# ------------------------------------------------------------------ duration buckets


@pytest.mark.parametrize(
    ("duration_ms", "column"),
    [
        (0, "under_10ms"),
        (10, "under_10ms"),
        (10.001, "under_25ms"),
        (25, "under_25ms"),
        (999.9, "under_1s"),
        (1_000, "under_1s"),
        (2_500, "under_2500ms"),
        (2_500.5, "under_5s"),
        (60_000, "under_60s"),
        (60_000.1, "over_60s"),
        (3_600_000, "over_60s"),
    ],
)
def test_a_run_is_counted_in_the_first_bucket_whose_bound_it_does_not_pass(duration_ms, column):
    assert duration_bucket(duration_ms) == column


def test_every_bucket_bound_belongs_to_its_own_bucket():
    for bound, column in zip(DURATION_BUCKETS_MS, DURATION_BUCKET_COLUMNS, strict=False):
        assert duration_bucket(bound) == column
    assert len(DURATION_BUCKET_COLUMNS) == len(DURATION_BUCKETS_MS) + 1


# ------------------------------------------------------------------ chart scale


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [
        (0, 1),
        (1, 1),
        (2, 2),
        (3, 5),
        (5, 5),
        (6, 10),
        (10, 10),
        (11, 20),
        (21, 50),
        (51, 100),
        (100, 100),
        (101, 200),
        (999, 1_000),
        (1_000, 1_000),
        (1_001, 2_000),
    ],
)
def test_the_chart_scale_is_the_next_round_number(value, ceiling):
    assert nice_ceiling(value) == ceiling


# ------------------------------------------------------------------ minute chart


def minutes(**points: MinutePoint) -> list[MinutePoint]:
    """Sixty minutes, empty but for the given points keyed m<index>."""
    series = [MinutePoint(START + timedelta(minutes=index)) for index in range(60)]
    for key, point in points.items():
        series[int(key[1:])] = point
    return series


def test_an_empty_hour_draws_flat_bars_and_no_failure_line():
    chart = minute_chart(minutes())

    assert chart.scale_max == 1
    assert chart.total == 0
    assert chart.rate_points == ""
    assert len(chart.bars) == 60
    assert {(bar.ok_height, bar.bad_height) for bar in chart.bars} == {(0, 0)}
    assert {bar.ok_y for bar in chart.bars} == {charts.HEIGHT}


def test_bar_heights_scale_to_the_busiest_minute():
    series = minutes(
        m0=MinutePoint(START, succeeded=3, failed=1),
        m59=MinutePoint(START + timedelta(minutes=59), succeeded=1),
    )

    chart = minute_chart(series)

    assert chart.scale_max == 5  # the busiest minute finished 4
    assert chart.total == 5
    first, last = chart.bars[0], chart.bars[-1]
    slot = charts.WIDTH / 60
    assert (first.x, first.width) == (1, round(slot - 2, 1))
    assert last.x == round(59 * slot + 1, 1)
    assert (first.ok_height, first.ok_y) == (72.0, 48.0)  # 3 of 5 of 120 px
    assert (first.bad_height, first.bad_y) == (24.0, 24.0)  # stacked on top
    assert (last.ok_height, last.bad_height) == (24.0, 0.0)
    assert first.label == "12:00 UTC: 3 succeeded, 1 failed, 0 retried"


def test_retried_attempts_count_as_bad_in_the_bars_and_the_failure_rate():
    series = minutes(m10=MinutePoint(START + timedelta(minutes=10), succeeded=1, retried=1))

    chart = minute_chart(series)

    bar = chart.bars[10]
    assert chart.scale_max == 2
    assert (bar.ok_height, bar.bad_height) == (60.0, 60.0)
    slot = charts.WIDTH / 60
    assert chart.rate_points == f"{round(10 * slot + slot / 2, 1)},60.0"


def test_the_failure_rate_line_has_points_only_for_minutes_where_jobs_finished():
    series = minutes(
        m0=MinutePoint(START, succeeded=4),
        m1=MinutePoint(START + timedelta(minutes=1), started=7),  # started, none finished yet
        m30=MinutePoint(START + timedelta(minutes=30), failed=2),
        m59=MinutePoint(START + timedelta(minutes=59), succeeded=3, failed=1),
    )

    chart = minute_chart(series)

    slot = charts.WIDTH / 60
    points = [tuple(map(float, pair.split(","))) for pair in chart.rate_points.split()]
    assert points == [
        (round(slot / 2, 1), 120.0),  # no failures: the bottom of the chart
        (round(30 * slot + slot / 2, 1), 0.0),  # all failed: the top
        (round(59 * slot + slot / 2, 1), 90.0),  # a quarter failed
    ]
    assert chart.bars[1].ok_height == chart.bars[1].bad_height == 0


def test_a_minute_point_knows_what_finished_and_its_failure_rate():
    point = MinutePoint(START, started=9, succeeded=6, failed=1, retried=1)

    assert point.finished == 8
    assert point.failure_rate == pytest.approx(0.25)
    assert MinutePoint(START, started=3).failure_rate is None
