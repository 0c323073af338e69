"""Fault run: the production layout under a light load while its parts fail, then the invariants.

`python -m bench.fault` runs its own PostgreSQL cluster (initdb in a temporary directory, port
5499) and its own redis-server (port 6390), so restarting them disturbs nobody else on the
machine. Under the load of bench/load.py it SIGKILLs a consumer (and starts a replacement),
restarts Redis, and restarts PostgreSQL once (pg_ctl restart -m fast). Answers are counted by
phase: during the PostgreSQL outage a 503 is expected; a 500 is a failure anywhere. Afterwards it
waits for recovery and the queue to drain, and checks the same invariants as the load run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from bench.layout import Layout, OwnPostgres, OwnRedis
from bench.load import Stats, check_invariants, print_table, start_users, wait_for_drain

POSTGRES_PORT = 5499
REDIS_PORT = 6390


def _statuses_between(stats: Stats, start: float, end: float) -> Counter:
    """Answers in [start, end) seconds of the run."""
    found = Counter()
    with stats.lock:
        for second, counts in stats.timeline.items():
            if start <= second < end:
                found.update(counts)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase-seconds", type=float, default=15, help="load between faults")
    args = parser.parse_args(argv)
    gap = args.phase_seconds

    services = Path(tempfile.mkdtemp(prefix="steward-fault-"))
    postgres = OwnPostgres(POSTGRES_PORT, services)
    redis = OwnRedis(REDIS_PORT, services)
    events: list[tuple[str, float, float]] = []  # (what, from s, to s) in run time
    print(f"Own PostgreSQL :{POSTGRES_PORT} and Redis :{REDIS_PORT} in {services}", flush=True)
    postgres.init()
    postgres.start()
    redis.start()
    # A step that was running when its consumer or the database went away is taken back when
    # its lease ends: 20 s instead of the default 300, so the run sees it recovered.
    layout = Layout(
        postgres_admin_url=postgres.admin_url,
        redis_url=redis.url,
        extra_env={"STEP_TIMEOUT_SECONDS": "20"},
    )
    stop = threading.Event()
    stats = Stats()
    try:
        layout.start()
        print(
            f"gunicorn -w {layout.web_workers} on {layout.base_url}, {layout.consumers} consumers"
            f" x {layout.consumer_workers} process workers; logs in {layout.workdir}",
            flush=True,
        )
        stats.started = time.monotonic()
        threads = start_users(layout.base_url, stats, stop)

        def now() -> float:
            return time.monotonic() - stats.started

        def fault(what: str, action) -> None:
            began = now()
            action()
            events.append((what, began, now()))
            print(f"{began:6.1f} s  {what} ({now() - began:.1f} s)", flush=True)

        time.sleep(gap)
        victim = layout.live_consumers()[0]
        fault(f"SIGKILL consumer pid {victim.pid}", lambda: layout.kill_consumer(victim))
        fault("start a replacement consumer", layout.start_consumer)
        time.sleep(gap)
        fault("restart Redis", redis.restart)
        time.sleep(gap)
        fault("restart PostgreSQL (pg_ctl restart -m fast)", postgres.restart)
        outage_began = events[-1][1]
        recovery = layout.wait_for_health(120)
        print(f"{now():6.1f} s  /health answers 200 again ({recovery:.1f} s later)", flush=True)
        time.sleep(gap)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        elapsed = now()
        print_table(stats, elapsed)
        outage = _statuses_between(stats, int(outage_began), int(outage_began + 10) + 1)
        print(f"answers from the PostgreSQL restart to 10 s after: {dict(sorted(outage.items()))}")
        layout.wait_for_health(120, "/health/queues")
        drained = wait_for_drain(layout)
        print(f"queue drained in {drained:.1f} s after the load stopped")
        failures = check_invariants(layout)
    finally:
        stop.set()
        layout.teardown()
        redis.stop()
        postgres.stop()
    total = Counter(status for _, status, _ in stats.samples)
    server_errors = sum(n for status, n in total.items() if status >= 500 and status != 503)
    lost_connections = total.get(0, 0)
    print(
        f"503s: {total.get(503, 0)}, other 5xx: {server_errors}, "
        f"failed connections: {lost_connections}"
    )
    failures += [f"{server_errors} 5xx other than 503"] if server_errors else []
    failures += [f"{lost_connections} failed connections"] if lost_connections else []
    failures += [f"virtual user {name} crashed" for name in stats.crashed]
    if failures:
        print("FAULT RUN FAILED: " + ", ".join(failures))
        return 1
    shutil.rmtree(services, ignore_errors=True)
    print("fault run passed: no 500, recovered, every invariant holds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
