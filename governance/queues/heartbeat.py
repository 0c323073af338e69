"""Consumer heartbeats: each `flask worker` says every few seconds that it is alive.

A consumer that misses two heartbeats shows as stale; one silent for CONSUMER_FORGET_SECONDS
is dropped from the list. Process workers are forked after registration, so they inherit the
consumer's id and their signals count towards its tally.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import huey as huey_package
import sqlalchemy as sa
from flask import Flask, current_app

from governance.dbutil import rowcount
from governance.extensions import db
from governance.queues.models import Consumer
from governance.timeutil import utcnow
from governance.version import __version__

log = logging.getLogger(__name__)
CONSUMERS = Consumer.__table__


@dataclass(frozen=True)
class Registration:
    id: str
    host: str
    pid: int
    worker_count: int
    worker_type: str
    version: str
    started_at: datetime


# This process's consumer, if it is one: process state by nature (one consumer per process).
_registration: Registration | None = None


def current_consumer_id() -> str | None:
    return _registration.id if _registration else None


def register_consumer(*, worker_count: int, worker_type: str) -> str:
    """Describe this process as a consumer and write its first heartbeat; returns its id."""
    global _registration
    _registration = Registration(
        id=secrets.token_hex(8),
        host=socket.gethostname()[:255],
        pid=os.getpid(),
        worker_count=worker_count,
        worker_type=worker_type,
        version=f"{__version__} (Huey {huey_package.__version__})"[:40],
        started_at=utcnow(),
    )
    beat(utcnow())
    return _registration.id


def beat(now: datetime) -> None:
    """Say this consumer is alive; re-registers the row if it was pruned or wiped meanwhile."""
    if _registration is None:
        return
    with db.engine.begin() as connection:
        changed = connection.execute(
            sa.update(CONSUMERS)
            .where(CONSUMERS.c.id == _registration.id)
            .values(last_seen_at=now, stopped_at=None)
        )
        if rowcount(changed) == 0:
            connection.execute(
                sa.insert(CONSUMERS).values(
                    id=_registration.id,
                    host=_registration.host,
                    pid=_registration.pid,
                    worker_count=_registration.worker_count,
                    worker_type=_registration.worker_type,
                    version=_registration.version,
                    started_at=_registration.started_at,
                    last_seen_at=now,
                    tasks_done=0,
                )
            )


def mark_stopped(now: datetime) -> None:
    """A graceful shutdown: the consumer is gone on purpose, not stale."""
    if _registration is None:
        return
    with db.engine.begin() as connection:
        connection.execute(
            sa.update(CONSUMERS)
            .where(CONSUMERS.c.id == _registration.id)
            .values(stopped_at=now, last_seen_at=now)
        )


def run_in_background(
    app: Flask, stop: threading.Event, on_beat: Callable[[datetime], None] | None = None
) -> threading.Thread:
    """A daemon thread that beats every HEARTBEAT_SECONDS until `stop` is set, then runs
    `on_beat` (the consumer's share of housekeeping)."""

    def loop() -> None:
        interval = app.config["HEARTBEAT_SECONDS"]
        while not stop.wait(interval):
            with app.app_context():
                try:
                    now = utcnow()
                    beat(now)
                    if on_beat:
                        on_beat(now)
                except Exception:  # the database blinked: the next beat tries again
                    # Each write is its own unit of work, rolled back by it; the app context's
                    # end discards whatever else the session held.
                    log.warning("Heartbeat failed; trying again shortly", exc_info=True)

    thread = threading.Thread(target=loop, name="steward-heartbeat", daemon=True)
    thread.start()
    return thread


def fresh_after(now: datetime) -> datetime:
    """Heartbeats at or after this moment are fresh: at most two were missed."""
    return now - timedelta(seconds=2 * current_app.config["HEARTBEAT_SECONDS"])


def forget_before(now: datetime) -> datetime:
    return now - timedelta(seconds=current_app.config["CONSUMER_FORGET_SECONDS"])


def consumer_state(consumer: Consumer, now: datetime) -> str:
    if consumer.stopped_at is not None:
        return "stopped"
    return "alive" if consumer.last_seen_at >= fresh_after(now) else "stale"


def alive_condition(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(Consumer.stopped_at.is_(None), Consumer.last_seen_at >= fresh_after(now))


def listed_consumers(now: datetime) -> list[Consumer]:
    """Consumers heard from within CONSUMER_FORGET_SECONDS, newest first."""
    return list(
        db.session.scalars(
            sa.select(Consumer)
            .where(Consumer.last_seen_at >= forget_before(now))
            .order_by(Consumer.started_at.desc())
        )
    )


def forget_gone_consumers(now: datetime) -> int:
    result = db.session.execute(
        sa.delete(Consumer).where(Consumer.last_seen_at < forget_before(now))
    )
    return rowcount(result) or 0
