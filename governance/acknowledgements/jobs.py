"""The consumer's hourly acknowledgement reminders (the work is service.send_ack_reminders)."""

from __future__ import annotations

from huey import crontab

from governance.acknowledgements.service import send_ack_reminders
from governance.queue import periodic_task


@periodic_task(crontab(minute="23"))
def send_ack_reminders_hourly() -> int:
    return send_ack_reminders()
