"""The consumer's hourly expiry of policy exceptions (expire_exceptions is the plain function)."""

from __future__ import annotations

from huey import crontab

from governance.policy_exceptions.service import expire_exceptions
from governance.queue import periodic_task


@periodic_task(crontab(minute="11"))
def expire_exceptions_hourly() -> int:
    return len(expire_exceptions())
