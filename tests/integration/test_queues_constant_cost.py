"""The queue health page (/admin/queues and its live fragment) and /health/queues cost the
same, in SQL statements and Redis commands, with 1,000 job records as with 100,000: every
figure comes from the queue's own counters, per-minute counters of the last hour, running
records and heartbeats, never from a walk through the history."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa

from governance.engine.jobs import run_step
from governance.queues.models import DURATION_BUCKET_COLUMNS, Consumer, JobCounter, JobRecord
from governance.timeutil import UTCDateTime, utcnow
from tests.conftest import REQUIRE_SERVICES, require_service
from tests.factories import count_committed

SMALL, LARGE = 1_000, 100_000
CHUNK = 10_000
RUNNING = 12
WAITING_MESSAGES = 3
TASK_NAMES = ("steward.run_step", "steward.send_email")
URLS = ("/admin/queues", "/admin/queues/live", "/health/queues")
# The counts /health/queues reports (throughput and lag move with the clock).
FIGURES = (
    "pending",
    "scheduled",
    "running",
    "failed_last_hour",
    "completed_last_hour",
    "retried_last_hour",
    "consumers_alive",
)
# Finished states a long history holds, in a repeating mix.
HISTORY_STATUSES = ("complete",) * 8 + ("error", "retried", "discarded", "lost")


@dataclass
class CommandLog:
    commands: list[str] = field(default_factory=list)


@contextmanager
def redis_commands(url: str) -> Iterator[CommandLog]:
    """The commands the Redis server receives on this URL's database while the block runs.

    Read from MONITOR, the server's own account. The block ends with a marker command on the
    same database, read back to know that every command before it has been seen. The test's
    database number is its own, so nothing else speaks on it.
    """
    import redis

    database = int(urlsplit(url).path.lstrip("/") or 0)
    watcher, speaker = redis.Redis.from_url(url), redis.Redis.from_url(url)
    speaker.ping()  # connected before counting: its handshake is not what is measured
    marker = f"end-of-count-{uuid.uuid4().hex}"
    log = CommandLog()
    try:
        with watcher.monitor() as monitor:
            yield log
            speaker.echo(marker)
            while True:
                command = monitor.next_command()
                if command["db"] != database:
                    continue
                if marker in command["command"]:
                    break
                log.commands.append(command["command"])
    finally:
        watcher.close()
        speaker.close()


def _running_rows(now: datetime) -> list[dict]:
    """Jobs a consumer is running right now, started over the last few seconds."""
    return [
        {
            "task_id": f"running-{number}",
            "task_name": TASK_NAMES[number % 2],
            "args": [number],
            "step_run_id": number if number % 2 == 0 else None,
            "status": "running",
            "attempts": 1,
            "created_at": now - timedelta(seconds=number + 1),
            "enqueued_at": now - timedelta(seconds=number + 1),
            "started_at": now - timedelta(seconds=number),
            "consumer_id": "c0ffee",
        }
        for number in range(RUNNING)
    ]


def _counter_rows(minutes: range, now: datetime) -> Iterator[dict]:
    this_minute = now.replace(second=0, microsecond=0)
    buckets = dict.fromkeys(DURATION_BUCKET_COLUMNS, 0)
    for minutes_ago, task_name in itertools.product(minutes, TASK_NAMES):
        yield buckets | {
            "minute": this_minute - timedelta(minutes=minutes_ago),
            "task_name": task_name,
            "started": 6,
            "succeeded": 5,
            "failed": 1,
            "retried": 1,
            "total_duration_ms": 7 * 80.0,
            "under_100ms": 7,
        }


def _insert(db, table: sa.Table, rows: Iterator[dict]) -> None:
    """Plain executemany in chunks, in one transaction."""
    with db.engine.begin() as connection:
        while chunk := list(itertools.islice(rows, CHUNK)):
            connection.execute(sa.insert(table), chunk)


def _history(first: int, last: int, now: datetime) -> sa.Insert:
    """Finished job records numbered first..last, spread over six days, made by the database.

    Generated in SQL from a counting CTE rather than sent row by row: executemany of 99,000
    rows took 7-12 s here (psycopg 3 sends one INSERT per row; SQLite spends it binding
    values), this takes 1-2 s.
    """
    counting = sa.select(sa.literal(first).label("n")).cte("numbers", recursive=True)
    counting = counting.union_all(sa.select(counting.c.n + 1).where(counting.c.n < last))
    n = counting.c.n
    days = [now - timedelta(days=day, hours=1) for day in range(6)]

    def moment(after: timedelta = timedelta()):
        return sa.case(
            *(
                (n % len(days) == day, sa.literal(at + after, UTCDateTime()))
                for day, at in enumerate(days)
            )
        )

    status = sa.case(
        *(
            (n % len(HISTORY_STATUSES) == index, value)
            for index, value in enumerate(HISTORY_STATUSES)
        )
    )
    failed = status != "complete"
    columns = {
        "task_id": sa.literal("history-") + sa.cast(n, sa.String),
        "task_name": sa.case((n % 2 == 0, TASK_NAMES[0]), else_=TASK_NAMES[1]),
        "args": sa.literal([], sa.JSON()),
        "step_run_id": sa.case((n % 2 == 0, n)),
        "status": status,
        "attempts": sa.case((failed, 3), else_=1),
        "created_at": moment(),
        "enqueued_at": moment(),
        "started_at": moment(),
        "finished_at": moment(timedelta(milliseconds=120)),
        "duration_ms": sa.literal(120.0),
        "consumer_id": sa.literal("c0ffee"),
        "error": sa.case((failed, "ValueError: the receiver said no")),
        "traceback": sa.case((failed, "Traceback (most recent call last):")),
    }
    return sa.insert(JobRecord.__table__).from_select(list(columns), sa.select(*columns.values()))


def _seed(db, now: datetime) -> None:
    """1,000 job records: a few running, a few waiting in the queue, the rest history; the
    last 50 minutes of counters; one live consumer."""
    db.session.add(
        Consumer(
            id="c0ffee",
            host="worker-1",
            pid=4242,
            worker_count=4,
            worker_type="thread",
            version="t",
        )
    )
    db.session.commit()
    _insert(db, JobRecord.__table__, iter(_running_rows(now)))
    with db.engine.begin() as connection:
        connection.execute(_history(RUNNING, SMALL - WAITING_MESSAGES - 1, now))
    _insert(db, JobCounter.__table__, _counter_rows(range(1, 51), now))
    for missing_step in range(WAITING_MESSAGES):  # no consumer runs: they wait, and are recorded
        run_step(10**9 + missing_step)
    assert count_committed(db, JobRecord) == SMALL


def _grow(db, now: datetime) -> None:
    """To 100,000 job records, and add a week of older counters."""
    with db.engine.begin() as connection:
        connection.execute(_history(SMALL, LARGE - 1, now))
    _insert(db, JobCounter.__table__, _counter_rows(range(61, 61 + 7 * 24 * 60, 7), now))
    assert count_committed(db, JobRecord) == LARGE


def _heartbeat(db) -> None:
    """The consumer says it is alive, so /health/queues answers 200."""
    db.session.execute(sa.update(Consumer).values(last_seen_at=utcnow()))
    db.session.commit()


def _costs(db, admin, count_statements, redis_url: str | None) -> dict:
    """Per URL: (SQL statements, Redis commands or None) of one GET, as an admin."""
    costs = {}
    for url in URLS:
        _heartbeat(db)
        admin.get(url)  # warm: connections and caches are not what is measured
        with count_statements() as statements:
            if redis_url:
                with redis_commands(redis_url) as redis_log:
                    response = admin.get(url)
                commands = len(redis_log.commands)
                assert commands > 0, "the queue counts come from Redis"
            else:
                response = admin.get(url)
                commands = None
        assert response.status_code == 200, response.get_data(as_text=True)
        costs[url] = (statements.count, commands)
    return costs


def test_queue_health_costs_the_same_with_100_000_job_records_as_with_1_000(
    app, db, users, login, count_statements
):
    redis_url = os.environ.get("REDIS_URL")
    # Without Redis the SQL half still runs; CI's Redis pass may not lose the other half.
    if REQUIRE_SERVICES:
        require_service(bool(redis_url), "REDIS_URL not set: Redis commands cannot be counted")
    admin = login(users["admin"])
    now = utcnow()
    _seed(db, now)

    small = _costs(db, admin, count_statements, redis_url)
    figures = admin.get("/health/queues").get_json()
    _grow(db, now)
    large = _costs(db, admin, count_statements, redis_url)

    assert large == small
    # The same figures too: history older than an hour changes none of them.
    grown = admin.get("/health/queues").get_json()
    assert {name: grown[name] for name in FIGURES} == {name: figures[name] for name in FIGURES}
    assert (figures["running"], figures["pending"], figures["scheduled"]) == (
        RUNNING,
        WAITING_MESSAGES,
        0,
    )
    assert (figures["completed_last_hour"], figures["failed_last_hour"]) == (500, 100)
