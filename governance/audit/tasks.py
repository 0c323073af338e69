"""The audit checkpoint's periodic task: sign the chain's head every AUDIT_CHECKPOINT_MINUTES."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from huey import crontab

from governance.audit.checkpoint_writer import write_checkpoint_if_due
from governance.queue import periodic_task
from governance.timeutil import utcnow


# Every five minutes, so the interval is a setting rather than a schedule fixed at import; a
# pass that finds the last checkpoint younger than the interval (or no new event) does nothing.
@periodic_task(crontab(minute="*/5"))
def write_audit_checkpoint_when_due() -> int | None:
    every = timedelta(minutes=current_app.config["AUDIT_CHECKPOINT_MINUTES"])
    checkpoint = write_checkpoint_if_due(utcnow(), every)
    return checkpoint.seq if checkpoint else None
