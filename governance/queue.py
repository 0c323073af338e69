"""Huey tasks that run inside a Flask app context, and sending them after commit.

task() and periodic_task() wrap Huey's decorators; send_after_commit() is the one way any
module hands row ids to a task: only once the transaction that wrote the rows has committed.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app, has_app_context
from huey.api import TaskWrapper
from huey.exceptions import RetryTask

from governance.extensions import db, huey
from governance.timeutil import utcnow

log = logging.getLogger(__name__)
# Beyond this many waiting messages the queue is busy, not lossy: it is not scanned.
QUEUE_SCAN_LIMIT = 10_000
_PENDING_KEY = "steward.send_after_commit"
_hooks_lock = threading.Lock()
_app_factory: Callable[[], Flask] | None = None
# Every task() by its fixed name, so that a module can send a task it must not import (the
# task's own module imports it: engine/jobs.py runs the engine, notifications/tasks.py the
# outbox).
_tasks_by_name: dict[str, TaskWrapper] = {}


def set_app_factory(factory: Callable[[], Flask]) -> None:
    """How a consumer process builds its app (governance/worker.py hands over create_app):
    this module is a leaf of the platform and never imports the package that builds apps."""
    global _app_factory
    _app_factory = factory
    consumer_app.cache_clear()


@functools.cache
def consumer_app() -> Flask:
    """The app a consumer process runs tasks in, built once per process on first use."""
    if _app_factory is None:
        raise RuntimeError("No app factory: import governance.worker (it sets one) first.")
    return _app_factory()


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
        wrapper = huey.task(**task_options)(_in_app_context(fn))
        if "name" in task_options:
            _tasks_by_name[task_options["name"]] = wrapper
        return wrapper

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


# ------------------------------------------------------------------ sending after commit


@dataclass(frozen=True)
class _Send:
    task_name: str
    ids: tuple[int, ...]
    delay: float | None
    inline_fallback: bool


def _task_named(task_or_name: TaskWrapper | str) -> TaskWrapper:
    if isinstance(task_or_name, TaskWrapper):
        return task_or_name
    try:
        return _tasks_by_name[task_or_name]
    except KeyError:
        raise LookupError(f"No task named {task_or_name!r}: is its module imported?") from None


def send_after_commit(
    task_or_name: TaskWrapper | str,
    ids: Iterable[int],
    *,
    delay: float | None = None,
    inline_fallback: bool = False,
) -> None:
    """Send `task(id)` for each id once the current transaction commits; dropped on rollback.

    A consumer must never see an id before its row exists. If the queue is unreachable the
    rows keep saying what is left to do and the reconciler sends them later; with
    `inline_fallback` and QUEUE_FALLBACK=inline the task runs in this process instead.
    """
    ids = tuple(ids)
    if not ids:
        return
    task_name = _task_named(task_or_name).name  # fails now, in the caller, if misnamed
    _install_session_hooks()
    pending = db.session.info.setdefault(_PENDING_KEY, [])
    pending.append(_Send(task_name, ids, delay, inline_fallback))


def send_now(
    task_or_name: TaskWrapper | str,
    ids: Iterable[int],
    *,
    delay: float | None = None,
    inline_fallback: bool = False,
) -> int:
    """Hand ids whose rows are already committed to the task; returns how many went.

    Never raises: when the queue is down the rows stay as they are for the reconciler.
    """
    wrapper = _task_named(task_or_name)
    sent = 0
    for row_id in ids:
        try:
            if delay:
                wrapper.schedule(args=(row_id,), delay=delay)
            else:
                wrapper(row_id)
            sent += 1
        except Exception:  # Redis down: the reconciler sends the row's work again later
            log.warning(
                "Could not send %s(%s); its row stays queued", wrapper.name, row_id, exc_info=True
            )
            inline = current_app.config.get("QUEUE_FALLBACK") == "inline"
            if inline_fallback and inline and not delay:
                _run_inline(wrapper, row_id)
    return sent


def _run_inline(wrapper: TaskWrapper, row_id: int) -> None:
    """QUEUE_FALLBACK=inline: run the task in this process when the queue is unreachable.

    A thread with its own app context (so its own database session): the caller is inside
    a commit hook, where its own session cannot be used.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        with app.app_context():
            try:
                wrapper.call_local(row_id)
            except (JobFailed, RetryTask):
                pass  # recorded in the database already; there is no Huey here to tell
            except Exception:
                log.exception("Running %s(%s) inline failed", wrapper.name, row_id)

    threading.Thread(target=run, name=f"inline-{wrapper.name}-{row_id}", daemon=True).start()


def _after_commit(session: so.Session) -> None:
    for send in session.info.pop(_PENDING_KEY, []):
        send_now(send.task_name, send.ids, delay=send.delay, inline_fallback=send.inline_fallback)


def _after_rollback(session: so.Session, previous_transaction: so.SessionTransaction) -> None:
    session.info.pop(_PENDING_KEY, None)


def _install_session_hooks() -> None:
    """Listen on every session once per process, the first time something is sent.

    Installed lazily (and under a lock, as web threads may race here) so that sending works
    in any process, the web app, a consumer or a CLI command, without a setup call.
    """
    if sa.event.contains(so.Session, "after_commit", _after_commit):
        return
    with _hooks_lock:
        if not sa.event.contains(so.Session, "after_commit", _after_commit):
            sa.event.listen(so.Session, "after_commit", _after_commit)
            sa.event.listen(so.Session, "after_soft_rollback", _after_rollback)
