"""Engine benchmark: raw Huey against Steward's workflow engine, on the same Redis.

`make bench` (or `python -m bench.engine`) prints (a) raw Huey no-op tasks/s, (b) Steward's
Huey tasks/s and steps/s for a 3-step automated workflow, (c) their ratio and (d) trigger ->
first-step-start latency p50/p99. Both consumers run 4 workers of one type: threads, or processes
with BENCH_WORKER_TYPE=process. It asserts nothing about time.
It creates and drops a scratch PostgreSQL database; see bench/README.md.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from huey import RedisHuey

from bench.processes import stop

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
BENCH_DATABASE = "steward_bench"
WORKERS = 4
# The same for both consumers, or the comparison says nothing.
WORKER_TYPE = os.environ.get("BENCH_WORKER_TYPE", "thread")
if WORKER_TYPE not in ("thread", "process"):
    raise SystemExit(f"bench: BENCH_WORKER_TYPE is thread or process, not {WORKER_TYPE!r}")
NOOP_TASKS = 5000
THROUGHPUT_EXECUTIONS = 300
LATENCY_EXECUTIONS = 150
LATENCY_INTERVAL_SECONDS = 0.1

# The first import picks a unique queue and leaves it in the environment, so the consumer
# subprocess (which imports this module to find raw_huey) listens on the same one.
RAW_HUEY_NAME = os.environ.setdefault("BENCH_RAW_HUEY_NAME", f"bench-raw-{uuid.uuid4().hex[:8]}")
raw_huey = RedisHuey(RAW_HUEY_NAME, url=REDIS_URL, results=False, utc=True)


@raw_huey.task(name="noop")
def noop() -> None:
    """The cheapest task there is: what Huey itself costs per message."""


@raw_huey.task(name="mark")
def mark(key: str) -> None:
    """Record when the consumer reached this point of the queue (its own clock)."""
    raw_huey.put(key, time.time())


@contextmanager
def consumer(command: list[str], environment: dict[str, str], log: Path):
    """A consumer subprocess, stopped gracefully (SIGTERM) on the way out."""
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [sys.executable, *command],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        stop(process)


def wait_for(condition, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise SystemExit(f"bench: timed out after {timeout:.0f} s waiting for {what}")


# ---------------------------------------------------------------- (a) raw Huey


def measure_raw_huey(workdir: Path) -> float:
    """No-op tasks/s: enqueue start mark, N no-ops, end mark; then let a consumer drain them."""
    raw_huey.flush()
    mark("start")
    for _ in range(NOOP_TASKS):
        noop()
    mark("end")
    command = ["-m", "huey.bin.huey_consumer", "bench.engine.raw_huey"]
    command += ["--workers", str(WORKERS), "--worker-type", WORKER_TYPE]
    with consumer(command, dict(os.environ), workdir / "raw-consumer.log"):
        end = wait_for(lambda: raw_huey.get("end", peek=True), 120, "the raw Huey queue")
    start = raw_huey.get("start")
    raw_huey.flush()
    return NOOP_TASKS / (end - start)


# ---------------------------------------------------------------- (b)-(d) Steward


@contextmanager
def scratch_database():
    """A fresh steward_bench database for this run, dropped afterwards."""
    server = sa.create_engine(f"{POSTGRES_URL}/postgres", isolation_level="AUTOCOMMIT")
    drop = sa.text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
    with server.connect() as connection:
        connection.execute(drop)
        connection.execute(sa.text(f"CREATE DATABASE {BENCH_DATABASE}"))
    try:
        yield f"{POSTGRES_URL}/{BENCH_DATABASE}"
    finally:
        with server.connect() as connection:
            connection.execute(drop)
        server.dispose()


def build_workflow():
    """Users and an active 3-stage workflow on policy.created: create_task, notify, assign."""
    from governance.auth import service as accounts
    from governance.auth.models import User
    from governance.extensions import db
    from governance.workflows import service as workflows

    password = uuid.uuid4().hex
    ids = {
        role: accounts.create_user(
            email=f"bench-{role}@example.org",
            name=f"Bench {role}",
            password=password,
            roles=[role],
            actor=None,
        )
        for role in ("admin", "owner", "approver")
    }
    db.session.commit()
    admin, owner = db.session.get(User, ids["admin"]), db.session.get(User, ids["owner"])
    retry = {"attempts": 5, "backoff": "exponential", "base_seconds": 1}
    stages = [
        {
            "type": "create_task",
            "config": {"title": "Read {{ policy.title }}", "assignee": "owner"},
        },
        {"type": "notify", "config": {"to_owner": True, "subject": "{{ policy.title }} is new"}},
        {"type": "assign", "config": {"role": "reviewer", "user_id": ids["approver"]}},
    ]
    definition = {
        "trigger": {"type": "policy.created"},
        "conditions": [],
        "stages": [
            {"steps": [{"key": f"step{number}", "retry": retry, **step}]}
            for number, step in enumerate(stages, start=1)
        ],
    }
    workflow_id = workflows.save_workflow(
        None, name="Bench", description="", definition=definition, actor=admin
    )
    workflows.activate(workflow_id, actor=admin)
    return owner


def trigger(owner) -> int:
    """One policy created through the service: its execution commits with it."""
    from governance.policies import service as policies

    return policies.create_policy(
        policies.PolicyInput(
            title=f"Bench policy {uuid.uuid4().hex[:8]}",
            body="# Purpose\n\nMeasured.\n",
            category="Security",
            owner_id=owner.id,
        ),
        actor=owner,
        max_body=200_000,
    )


def executions_of(policy_ids: list[int]) -> sa.Select:
    from governance.engine.models import Execution

    return sa.select(Execution.id).where(Execution.policy_id.in_(policy_ids))


def succeeded(policy_ids: list[int]) -> bool:
    from governance.engine.models import Execution
    from governance.extensions import db

    db.session.rollback()
    done = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Execution)
        .where(Execution.policy_id.in_(policy_ids), Execution.status == "succeeded")
    )
    return done == len(policy_ids)


def step_window(policy_ids: list[int]) -> float:
    """Seconds from the first step's first attempt to the last step's finish."""
    from governance.engine.models import StepAttempt, StepRun
    from governance.extensions import db

    runs = sa.select(StepRun.id).where(StepRun.execution_id.in_(executions_of(policy_ids)))
    first = db.session.scalar(
        sa.select(sa.func.min(StepAttempt.started_at)).where(StepAttempt.step_run_id.in_(runs))
    )
    last = db.session.scalar(
        sa.select(sa.func.max(StepRun.finished_at)).where(StepRun.id.in_(runs))
    )
    return (last - first).total_seconds()


def first_step_latencies(policy_ids: list[int]) -> list[float]:
    """Per execution: its created_at to the start of its first step attempt, in ms."""
    from governance.engine.models import Execution, StepAttempt, StepRun
    from governance.extensions import db

    rows = db.session.execute(
        sa.select(Execution.created_at, sa.func.min(StepAttempt.started_at))
        .join(StepRun, StepRun.execution_id == Execution.id)
        .join(StepAttempt, StepAttempt.step_run_id == StepRun.id)
        .where(Execution.policy_id.in_(policy_ids))
        .group_by(Execution.id)
    ).all()
    return sorted((started - created).total_seconds() * 1000 for created, started in rows)


def measure_steward(workdir: Path, database_url: str) -> dict[str, float]:
    huey_name = f"bench-steward-{uuid.uuid4().hex[:8]}"
    # Settled before governance is imported: its Huey is built at import from these.
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        HUEY_NAME=huey_name,
        STEWARD_INSTANCE_DIR=str(workdir),
        SECRET_KEY=uuid.uuid4().hex,
    )
    os.environ.pop("STEWARD_ENV", None)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        check=True,
        capture_output=True,
    )
    from governance import create_app
    from governance.extensions import db, huey

    app = create_app()
    worker = ["-m", "flask", "--app", "app", "worker", "--workers", str(WORKERS)]
    worker += ["--worker-type", WORKER_TYPE]
    log = workdir / "steward-consumer.log"
    with app.app_context():
        huey.flush()
        owner = build_workflow()
        # Throughput: the executions wait in Redis, then a consumer drains them.
        batch = [trigger(owner) for _ in range(THROUGHPUT_EXECUTIONS)]
        with consumer(worker, dict(os.environ), log):
            wait_for(lambda: succeeded(batch), 300, "the throughput executions", 0.2)
            window = step_window(batch)
            task_runs = log.read_text().count("Executing governance.engine.jobs.steward.run_step")
            # Latency: triggers arrive one by one while the consumer is idle-ish.
            paced = []
            for _ in range(LATENCY_EXECUTIONS):
                paced.append(trigger(owner))
                time.sleep(LATENCY_INTERVAL_SECONDS)
            wait_for(lambda: succeeded(paced), 120, "the latency executions", 0.2)
        latencies = first_step_latencies(paced)
        huey.flush()
        db.session.remove()
        db.engine.dispose()
    steps = 3 * THROUGHPUT_EXECUTIONS
    return {
        "tasks_per_second": task_runs / window,
        "steps_per_second": steps / window,
        "executions_per_second": THROUGHPUT_EXECUTIONS / window,
        "task_runs": task_runs,
        "steps": steps,
        "p50_ms": statistics.median(latencies),
        "p99_ms": statistics.quantiles(latencies, n=100)[98],
    }


def main() -> None:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="steward-bench-") as directory:
        workdir = Path(directory)
        raw = measure_raw_huey(workdir)
        with scratch_database() as database_url:
            steward = measure_steward(workdir, database_url)
    ratio = steward["tasks_per_second"] / raw
    rows = [
        ("(a) raw Huey, no-op task", f"{raw:,.0f} tasks/s", ""),
        ("(b) Steward, 3-step workflow", f"{steward['tasks_per_second']:,.0f} tasks/s", ""),
        ("", f"{steward['steps_per_second']:,.0f} steps/s", ""),
        ("", f"{steward['executions_per_second']:,.1f} executions/s", ""),
        ("(c) ratio Steward / raw (tasks/s)", f"{ratio:.2f}", ">= 0.5"),
        ("(d) trigger -> first step, p50", f"{steward['p50_ms']:.1f} ms", "<= 50 ms"),
        ("                           p99", f"{steward['p99_ms']:.1f} ms", ""),
    ]
    print(
        f"\nSteward engine benchmark: Redis {REDIS_URL}, PostgreSQL {BENCH_DATABASE}, "
        f"both consumers {WORKERS} {WORKER_TYPE} workers (-k {WORKER_TYPE}), {os.cpu_count()} CPUs"
    )
    print(f"{'':36} {'measured':>22}   target")
    for label, value, target in rows:
        print(f"{label:36} {value:>22}   {target}".rstrip())
    print(
        f"\n{NOOP_TASKS} no-ops; {THROUGHPUT_EXECUTIONS} executions drained "
        f"({steward['steps']:.0f} steps in {steward['task_runs']:.0f} Huey task runs); "
        f"latency over {LATENCY_EXECUTIONS} triggers {LATENCY_INTERVAL_SECONDS * 1000:.0f} ms "
        f"apart; {time.monotonic() - started:.0f} s in all."
    )


if __name__ == "__main__":
    # Run the importable copy, so task names (bench.engine.noop) match the consumer's.
    from bench.engine import main as run

    run()
