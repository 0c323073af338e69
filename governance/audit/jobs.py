"""The audit checkpoint's periodic task: sign the chain's head every AUDIT_CHECKPOINT_MINUTES."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app

from governance.audit.checkpoint_writer import write_checkpoint_if_due
from governance.config import audit_checkpoint_minutes
from governance.queue import periodic_task
from governance.timeutil import utcnow

# Past the hour by this much, away from the other hourly tasks (:07, :11, :17, :23).
MINUTE_PAST = 41


def _every_interval(minutes: float) -> Callable[[datetime], bool]:
    """Huey's schedule: every `minutes` within the hour (hourly for longer intervals, where
    write_checkpoint_if_due waits out the rest)."""
    step = max(1, min(60, int(minutes)))
    return lambda moment: moment.minute % step == MINUTE_PAST % step


@periodic_task(_every_interval(audit_checkpoint_minutes()))
def write_audit_checkpoint_when_due() -> int | None:
    every = timedelta(minutes=current_app.config["AUDIT_CHECKPOINT_MINUTES"])
    checkpoint = write_checkpoint_if_due(utcnow(), every)
    return checkpoint.seq if checkpoint else None
