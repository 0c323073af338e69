"""Handing step runs to the consumers: by the one task's name, after the commit that queued them.

Sent by name (engine/jobs.py registers the task) because jobs.py imports the modules that send.
If Huey's storage is down the steps simply stay queued in the database; the reconciler sends
them again later. Nothing is lost, and a message sent twice finds nothing to claim.
"""

from __future__ import annotations

from collections.abc import Iterable

from governance import queue

RUN_STEP = "steward.run_step"


def send_steps_after_commit(step_run_ids: Iterable[int], *, delay: float | None = None) -> None:
    """Once the current transaction commits, send these step runs to a consumer (each after
    `delay` seconds); run them here instead if the queue is down and QUEUE_FALLBACK=inline."""
    queue.send_after_commit(RUN_STEP, step_run_ids, delay=delay, inline_fallback=True)
