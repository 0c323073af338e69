"""Retry delays: exponential back-off with full jitter, or a fixed delay."""

from __future__ import annotations

import random

DEFAULT_CAP_SECONDS = 3600.0


def retry_delay(
    attempt: int,
    *,
    base_seconds: float,
    kind: str = "exponential",
    cap_seconds: float = DEFAULT_CAP_SECONDS,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1 for the first failure).

    Full jitter (a uniform draw between 0 and the exponential ceiling) spreads retries of
    many failing steps apart, so they do not all hit a recovering service at once.
    """
    if kind == "fixed":
        return min(base_seconds, cap_seconds)
    ceiling = min(cap_seconds, base_seconds * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(0, ceiling)  # jitter, not a secret
