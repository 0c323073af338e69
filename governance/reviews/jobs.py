"""The review scheduler's periodic task: reminders before the date, overdue flags after."""

from __future__ import annotations

from huey import crontab

from governance.queue import periodic_task
from governance.reviews.service import run_review_schedule


@periodic_task(crontab(minute="7"))
def run_review_schedule_hourly() -> dict:
    run = run_review_schedule()
    return {"reminded": len(run.reminded), "overdue": len(run.overdue)}
