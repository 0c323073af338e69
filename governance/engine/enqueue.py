"""Commit first, then enqueue: step ids reach Huey only after their transaction committed.

If Huey's storage is down the steps simply stay queued in the database; the reconciler sends
them again later. Nothing is lost, and a message sent twice finds nothing to claim.
"""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from governance.extensions import db

log = logging.getLogger(__name__)
_PENDING_KEY = "steward.enqueue"


def enqueue_after_commit(
    step_run_ids: list[int], *, delay: float | None = None, commit_now: bool = False
) -> None:
    """Send these step runs to the consumers once the current transaction commits.

    `commit_now=True` means the caller has just committed: send at once.
    """
    if not step_run_ids:
        return
    if commit_now:
        send(step_run_ids, delay=delay)
        return
    db.session.info.setdefault(_PENDING_KEY, []).append((list(step_run_ids), delay))


def send(step_run_ids: list[int], *, delay: float | None = None) -> int:
    """Hand ids to Huey; returns how many were sent. Never raises: the database keeps them."""
    from governance.engine.tasks import run_step

    sent = 0
    for step_run_id in step_run_ids:
        try:
            if delay:
                run_step.schedule(args=(step_run_id,), delay=delay)
            else:
                run_step(step_run_id)
            sent += 1
        except Exception:  # Redis down: the reconciler re-sends queued steps later
            log.warning(
                "Could not enqueue step run %s; it stays queued", step_run_id, exc_info=True
            )
            if current_app.config.get("QUEUE_FALLBACK") == "inline" and not delay:
                _run_inline(step_run_id)
    return sent


def _run_inline(step_run_id: int) -> None:
    """QUEUE_FALLBACK=inline: run the step in this process when the queue is unreachable.

    A thread with its own app context (so its own database session): the caller is inside
    a commit hook, where its own session cannot be used.
    """
    from governance.engine.tasks import execute_step

    app = current_app._get_current_object()

    def run() -> None:
        with app.app_context():
            execute_step(step_run_id)

    threading.Thread(target=run, name=f"inline-step-{step_run_id}", daemon=True).start()


def _after_commit(session: so.Session) -> None:
    pending = session.info.pop(_PENDING_KEY, [])
    for step_run_ids, delay in pending:
        send(step_run_ids, delay=delay)


def _after_rollback(session: so.Session, previous_transaction: so.SessionTransaction) -> None:
    session.info.pop(_PENDING_KEY, None)


def init_app() -> None:
    """Hook the listeners once per process onto the sessions Flask-SQLAlchemy makes."""
    if not sa.event.contains(so.Session, "after_commit", _after_commit):
        sa.event.listen(so.Session, "after_commit", _after_commit)
        sa.event.listen(so.Session, "after_soft_rollback", _after_rollback)
