"""Cron schedules: validated and iterated with croniter, described in words with cron-descriptor."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cron_descriptor import get_description
from croniter import croniter

from governance.engine.triggers import TriggerType
from governance.timeutil import utcnow


class CronError(ValueError):
    pass


def check_cron(expression: str) -> None:
    """Accept the five-field form only ("minute hour day month weekday"), in UTC."""
    if not expression:
        raise CronError("Give a cron expression, e.g. “0 9 * * 1” for Mondays at 09:00 UTC.")
    if len(expression.split()) != 5:
        raise CronError("Use five fields: minute hour day-of-month month day-of-week.")
    if not croniter.is_valid(expression):
        raise CronError(f"“{expression}” is not a valid cron expression.")


def describe(expression: str) -> str:
    try:
        return get_description(expression) + " (UTC)"
    except Exception:  # a description is a nicety, never an error page
        return expression


def next_runs(expression: str, count: int = 3, after: datetime | None = None) -> list[datetime]:
    iterator = croniter(expression, after or utcnow())
    return [iterator.get_next(datetime) for _ in range(count)]


def next_run(expression: str, after: datetime | None = None) -> datetime:
    return next_runs(expression, 1, after)[0]


def _clean_schedule(raw: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    cron = " ".join(str(raw.get("cron") or "").split())
    try:
        check_cron(cron)
    except CronError as error:
        errors["trigger.cron"] = str(error)
    return {"cron": cron}


# The engine's own trigger: the reconciler starts the workflow when its next_run_at is due.
SCHEDULE_TRIGGER = TriggerType(
    "schedule",
    "Schedule (cron)",
    position=60,
    data_fields=("scheduled_for", "cron"),
    without_subject="a scheduled run",
    clean=_clean_schedule,
    describe=lambda trigger: f"Schedule (cron): {trigger.get('cron')}",
)
