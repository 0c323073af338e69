"""Consumers SIGKILLed mid-run and a Redis restart lose nothing and do nothing twice.

The parts are real: a private redis-server the test owns (so it can restart it, empty), and
`flask worker --workers 4` subprocesses pointed at it with REDIS_URL and a unique HUEY_NAME,
writing to the test database. The 200 executions are started in the test process through
the policy service (each in its policy's transaction). That commit enqueues to the test
session's own Huey, built at import from the test environment, not to the private Redis; so
the test then sends the first-stage step ids itself, through a RedisHuey of the consumers'
name on which the engine's own run_step task is registered: the very message the engine sends.
From then on only the consumers and their reconciler threads move the work.

The workflow runs on policy.created: create_task and notify in parallel, then assign. The
policies are created while the consumers run (and die). The notify step's emails go through
the outbox to a slow local SMTP server, sent by the consumers' email task. Each kill leaves
steps `running` under a 3-second lease and drops the messages the consumer had popped; the
Redis restart drops every queued and scheduled message. The reconciler must bring all of it
back from the database. The consumers' logs stay in the test's tmp_path.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from huey import RedisHuey

from governance.audit.models import AuditEvent
from governance.engine.jobs import run_step
from governance.engine.models import (
    FINISHED_EXECUTION_STATUSES,
    Execution,
    StepAttempt,
    StepRun,
)
from governance.notifications.models import Notification, OutboundEmail
from governance.policies.models import Policy
from governance.tasks.models import Task
from tests import factories
from tests.conftest import require_service
from tests.factories import count_committed

# Its deadlines assume both cores: `make test` runs it after the parallel pass, alone.
pytestmark = pytest.mark.serial

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXECUTIONS = 200
# Generous: an email whose sender was killed mid-send waits out its one-minute back-off.
DEADLINE_SECONDS = 150
MAIL_DELAY_SECONDS = 0.05
REDIS_SERVER = shutil.which("redis-server")
RETRY = {"attempts": 10, "backoff": "exponential", "base_seconds": 0.5}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _PrivateRedis:
    """A redis-server on its own port, without persistence: a restart empties it."""

    def __init__(self, workdir: Path) -> None:
        self.port = str(_free_port())
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        options = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]
        self.process = subprocess.Popen(  # noqa: S603 (our redis-server, on a port we chose)
            [REDIS_SERVER, "--port", self.port, *options],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", int(self.port)), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


class _SlowMailServer(socketserver.ThreadingTCPServer):
    """Just enough SMTP for smtplib, answering DATA after a delay; remembers Message-IDs."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _MailHandler)
        self.message_ids: list[str] = []
        self.lock = threading.Lock()

    def handle_error(self, request, client_address) -> None:
        """A consumer killed mid-conversation resets its connection: expected here."""


class _MailHandler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 chaos ESMTP")
        while line := self.rfile.readline():
            command = line.decode(errors="replace").strip().upper()
            if command == "DATA":
                self.reply("354 end with .")
                message_id = ""
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    if data.lower().startswith(b"message-id:"):
                        message_id = data.split(b":", 1)[1].strip().decode()
                if data == b"":
                    # The sender was killed mid-message: nothing was delivered (counting it
                    # would add a mail, with an empty Message-ID if it died before that line).
                    return
                time.sleep(MAIL_DELAY_SECONDS)
                with self.server.lock:
                    self.server.message_ids.append(message_id)
                self.reply("250 queued")
            elif command == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


class _Consumers:
    """`flask worker` generations, one at a time, each logging to its own file."""

    def __init__(self, environment: dict[str, str], logdir: Path) -> None:
        self.environment = environment
        self.logdir = logdir
        self.process: subprocess.Popen | None = None
        self.logs: list[Path] = []

    def start(self) -> None:
        log = self.logdir / f"consumer-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "app", "worker", "--workers", "4"],
                cwd=PROJECT_ROOT,
                env=self.environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self) -> str:
        return "".join(log.read_text(errors="replace") for log in self.logs)


class _Chaos:
    """Kills and restarts at set shares of finished executions, each after some progress."""

    def __init__(self, consumers: _Consumers, redis: _PrivateRedis, plan) -> None:
        self.consumers, self.redis, self.plan = consumers, redis, list(plan)
        self.events: list[str] = []
        self.last = 0

    def strike_if_due(self, finished: int) -> None:
        if not self.plan:
            return
        share, action = self.plan[0]
        if finished < max(share * EXECUTIONS, self.last + 10):
            return
        assert finished < EXECUTIONS, f"the run ended before the chaos ({self.events})"
        if action == "kill":
            self.consumers.kill()
            self.consumers.start()
        else:
            self.redis.stop()
            self.redis.start()
        self.plan.pop(0)
        self.events.append(f"{action} at {finished}/{EXECUTIONS}")
        self.last = finished


def _finished(db) -> int:
    return count_committed(db, Execution, Execution.status.in_(FINISHED_EXECUTION_STATUSES))


def _first_stage(db, policy_id: int) -> list[int]:
    return db.session.scalars(
        sa.select(StepRun.id)
        .join(Execution)
        .where(Execution.policy_id == policy_id, StepRun.stage_index == 0)
    ).all()


def _chaos_workflow(users):
    step, admin = factories.step, users["admin"]
    return factories.make_workflow(
        admin,
        trigger={"type": "policy.created"},
        stages=[
            [
                step(
                    "todo",
                    "create_task",
                    {"title": "Read {{ policy.title }}", "assignee": "owner"},
                    retry=RETRY,
                ),
                step(
                    "tell",
                    "notify",
                    {"to_owner": True, "subject": "{{ policy.title }} is new"},
                    retry=RETRY,
                ),
            ],
            [
                step(
                    "review",
                    "assign",
                    {"role": "reviewer", "user_id": users["approver"].id},
                    retry=RETRY,
                )
            ],
        ],
    )


def _unsent_emails(db) -> int:
    return count_committed(db, OutboundEmail, OutboundEmail.status != "sent")


def test_killed_consumers_and_a_redis_restart_lose_nothing_and_repeat_no_effect(
    app, db, users, tmp_path
):
    require_service(REDIS_SERVER is not None, "redis-server is not installed")
    started = time.monotonic()
    redis = _PrivateRedis(tmp_path)
    redis.start()
    mail = _SlowMailServer()
    threading.Thread(target=mail.serve_forever, daemon=True).start()
    huey_name = f"chaos-{uuid.uuid4().hex[:8]}"
    consumers = _Consumers(
        os.environ
        | {
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": redis.url,
            "HUEY_NAME": huey_name,
            "STEP_TIMEOUT_SECONDS": "3",
            "RECONCILE_INTERVAL_SECONDS": "1",
            "STALE_QUEUED_SECONDS": "3",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(mail.server_address[1]),
        },
        tmp_path,
    )
    chaos = _Chaos(consumers, redis, [(0.15, "kill"), (0.4, "redis"), (0.65, "kill")])
    try:
        _chaos_workflow(users)
        # The engine's own task, bound to a Huey on the consumers' queue (see the docstring).
        sender = RedisHuey(huey_name, url=redis.url, results=False, utc=True)
        send_step = sender.task(name="steward.run_step")(run_step)
        consumers.start()
        # Triggers arrive while consumers run (and die); each is sent right after its commit.
        policy_ids = []
        for _ in range(EXECUTIONS):
            policy_ids.append(factories.make_policy(users["owner"]).id)
            for step_run_id in _first_stage(db, policy_ids[-1]):
                send_step(step_run_id)
            chaos.strike_if_due(_finished(db))
        triggered = time.monotonic() - started
        deadline = started + DEADLINE_SECONDS
        while (finished := _finished(db)) < EXECUTIONS and time.monotonic() < deadline:
            chaos.strike_if_due(finished)
            time.sleep(0.1)
        # Email leaves the step through the outbox: wait until every message has gone out
        # (those lost with the Redis restart come back through the reconciler).
        while _unsent_emails(db) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        consumers.stop()
        redis.stop()
        mail.shutdown()
        mail.server_close()
    output = consumers.output()
    elapsed = time.monotonic() - started

    db.session.rollback()
    statuses = Counter(db.session.scalars(sa.select(Execution.status)))
    assert statuses == {"succeeded": EXECUTIONS}, (statuses, chaos.events, output[-4000:])
    assert not chaos.plan, f"chaos left undone: {chaos.plan}"
    assert Counter(db.session.scalars(sa.select(StepRun.status))) == {"succeeded": 3 * EXECUTIONS}

    # Every internal effect exactly once: one row per step run, none twice, none missing.
    task_runs = db.session.scalars(sa.select(Task.step_run_id)).all()
    note_runs = db.session.scalars(sa.select(Notification.step_run_id)).all()
    assert len(task_runs) == len(set(task_runs)) == EXECUTIONS
    assert len(note_runs) == len(set(note_runs)) == EXECUTIONS
    assert sorted(db.session.scalars(sa.select(Task.policy_id))) == sorted(policy_ids)
    assigned = count_committed(db, AuditEvent, AuditEvent.action == "policy.assigned")
    assert assigned == EXECUTIONS
    reviewed = count_committed(db, Policy, Policy.reviewer_id == users["approver"].id)
    assert reviewed == EXECUTIONS
    # The claim, not the unique constraints, kept effects single: a constraint can only be hit
    # by a late finisher, an attempt that outlived its lease (the reconciler marked it lost).
    lost = count_committed(db, StepAttempt, StepAttempt.outcome == "lost")
    constraint_hits = sum(
        line.startswith("sqlalchemy.exc.IntegrityError") for line in output.splitlines()
    )
    assert constraint_hits <= lost, output[-4000:]

    # The external effect (mail) is at-least-once: every notify step's email went out once
    # its step committed, and an email whose sender was killed mid-send went out again with
    # the same Message-ID.
    # Only the notify steps' mails count: a queue alert ("no consumer is running" while every
    # consumer is down and work waits) is right to email the admins during the chaos.
    assert _unsent_emails(db) == 0, output[-4000:]
    mails = Counter(key for key in mail.message_ids if key.startswith("<step-run-"))
    alerts = sorted(key for key in mail.message_ids if not key.startswith("<step-run-"))
    assert len(mails) == EXECUTIONS, (alerts, mails)
    assert all(key.startswith("<alert-") for key in alerts), alerts

    retried = count_committed(db, StepRun, StepRun.attempt > 1)
    attempts = count_committed(db, StepAttempt)
    runs = output.count("Executing governance.engine.jobs.steward.run_step")
    print(
        f"\nchaos: {EXECUTIONS} executions in {elapsed:.1f} s (triggers sent by {triggered:.1f} s)"
        f"; {', '.join(chaos.events)}; {attempts} attempts for {3 * EXECUTIONS} steps, "
        f"{retried} step runs retried, {lost} attempts lost with their consumer "
        f"({constraint_hits} late finishers stopped by a unique constraint); "
        f"{runs} Huey task runs; {sum(mails.values())} mails for {len(mails)} notify steps"
    )
    # Proof that the chaos cost work the reconciler had to bring back: attempts lost with a
    # killed consumer, or step messages dropped by a kill or the Redis restart and re-sent.
    recovered = sum(
        int(count) for count in re.findall(r"'(?:lease_expired|stale_queued)': (\d+)", output)
    )
    assert retried > 0 or lost > 0 or recovered > 0, output[-4000:]
