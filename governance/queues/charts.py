"""Geometry for the queue page's server-rendered SVG charts (pure: no database, no Flask)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from governance.queues.stats import MinutePoint

WIDTH = 600
HEIGHT = 120


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    ok_y: float
    ok_height: float
    bad_y: float
    bad_height: float
    label: str


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    scale_max: int
    rate_points: str  # SVG polyline points of the failure rate, "" when nothing finished
    total: int


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... at or above value (at least 1)."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def minute_chart(points: list[MinutePoint]) -> Chart:
    """Bars per minute (succeeded below, failed or retried on top) and a failure-rate line."""
    scale_max = nice_ceiling(max((point.finished for point in points), default=0))
    slot = WIDTH / max(len(points), 1)
    bars, rate = [], []
    for index, point in enumerate(points):
        ok_height = HEIGHT * point.succeeded / scale_max
        bad_height = HEIGHT * (point.failed + point.retried) / scale_max
        x = index * slot
        bars.append(
            Bar(
                x=round(x + 1, 1),
                width=round(max(slot - 2, 1), 1),
                ok_y=round(HEIGHT - ok_height, 1),
                ok_height=round(ok_height, 1),
                bad_y=round(HEIGHT - ok_height - bad_height, 1),
                bad_height=round(bad_height, 1),
                label=(
                    f"{point.minute:%H:%M} UTC: {point.succeeded} succeeded, "
                    f"{point.failed} failed, {point.retried} retried"
                ),
            )
        )
        if point.failure_rate is not None:
            y = HEIGHT - HEIGHT * point.failure_rate
            rate.append(f"{round(x + slot / 2, 1)},{round(y, 1)}")
    return Chart(
        bars=bars,
        scale_max=scale_max,
        rate_points=" ".join(rate),
        total=sum(point.finished for point in points),
    )
