"""task() and periodic_task(): Huey tasks that run inside a Flask app context."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime

from flask import Flask, current_app, has_app_context
from huey.exceptions import RetryTask

from governance.extensions import huey
from governance.timeutil import utcnow

log = logging.getLogger(__name__)
# Beyond this many waiting messages the queue is busy, not lossy: it is not scanned.
QUEUE_SCAN_LIMIT = 10_000


@functools.cache
def consumer_app() -> Flask:
    """The app a consumer process runs tasks in, built once per process on first use."""
    from governance import create_app

    return create_app()


def _in_app_context(fn: Callable) -> Callable:
    """Each run gets a fresh app context, and so a fresh database session."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        # Flask types the current_app proxy as the app itself, which has no _get_current_object.
        app = current_app._get_current_object() if has_app_context() else consumer_app()  # type: ignore[attr-defined]
        with app.app_context():
            return fn(*args, **kwargs)

    return run


class JobFailed(Exception):
    """A task raises this after its failure is recorded and committed, so that Huey's error
    signal marks the job failed; `traceback_text` is the underlying error's own traceback."""

    def __init__(self, message: str, traceback_text: str | None = None) -> None:
        super().__init__(message)
        self.traceback_text = traceback_text


def retry_later(message: str, due_at: datetime | None) -> RetryTask:
    """For `raise`: Huey sends this same task again at `due_at` (and signals "retrying").

    The database already holds the retry's due time, so if this message is lost the
    reconciler sends the work again anyway.
    """
    return RetryTask(message, eta=due_at or utcnow())


def task(**task_options) -> Callable:
    def decorator(fn: Callable) -> Callable:
        return huey.task(**task_options)(_in_app_context(fn))

    return decorator


def periodic_task(validate_datetime: Callable, **task_options) -> Callable:
    def decorator(fn: Callable) -> Callable:
        return huey.periodic_task(validate_datetime, **task_options)(_in_app_context(fn))

    return decorator


def ids_waiting_in_queue(task_name: str) -> set[int] | None:
    """The first arguments (row ids) of this task's messages waiting in Huey.

    None when the queue cannot be read or is too long to scan: then the caller re-sends
    nothing this pass, since a busy queue is not a lost message.
    """
    try:
        if huey.pending_count() > QUEUE_SCAN_LIMIT:
            return None
        return {
            message.args[0]
            for message in huey.pending()
            if message.name == task_name and message.args
        }
    except Exception:  # the queue is unreachable: nothing can be sent anyway
        log.warning("Could not read the queue; lost %s messages are re-sent later", task_name)
        return None
