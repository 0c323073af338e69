"""Load run: virtual users against the production layout (bench/layout.py) for a bounded time.

`python -m bench.load --seconds 60` starts gunicorn (3 sync workers), three consumers, a fresh
`steward_bench_ops` database with the demo data and Redis db 14; then viewers browse, owners
create, edit and submit policies (firing the demo's "Review on submit" workflow), approvers
decide from their inboxes and an admin watches executions and the queues. It prints
requests/s, p50/p95 latency and answers by status, waits for the queue to drain, and checks
the database: no execution stuck, no step effect recorded twice, the audit chain intact.
Exit status 1 when a 5xx was answered or an invariant fails. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import random
import re
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import psycopg

from bench.layout import Layout

PASSWORD = "steward-demo-pass"  # noqa: S105 - the demo's published password (devdata/demo.py)
CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)
VERSION = re.compile(r'name="version"[^>]*value="(\d+)"')
DECIDE = re.compile(r"/approvals/(\d+)/decide")
POLICY_LINK = re.compile(r'href="/policies/(\d+)"')
EXECUTION_LINK = re.compile(r'href="/executions/(\d+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Each request is timed on its own: a redirect is an answer, not something to follow."""

    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Stats:
    """Every answer of the run: (what, status, seconds), shared by the virtual users."""

    samples: list[tuple[str, int, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    actions: Counter = field(default_factory=Counter)
    # Status codes by time window, for the fault run's timeline (second -> Counter).
    timeline: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    started: float = field(default_factory=time.monotonic)
    crashed: list[str] = field(default_factory=list)

    def add(self, what: str, status: int, seconds: float) -> None:
        with self.lock:
            self.samples.append((what, status, seconds))
            self.timeline[int(time.monotonic() - self.started)][status] += 1

    def count(self, action: str) -> None:
        with self.lock:
            self.actions[action] += 1


class Session:
    """One browser: a cookie jar, logged in through the real form with its CSRF token."""

    def __init__(self, base_url: str, stats: Stats, email: str) -> None:
        self.base_url = base_url
        self.stats = stats
        self.email = email
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )
        self.csrf = ""

    def request(self, what: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        """(status, body, Location); 0 for a connection that failed outright."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        started = time.perf_counter()
        try:
            request = urllib.request.Request(self.base_url + path, data=data)  # noqa: S310
            with self.opener.open(request, timeout=30) as response:
                status, body, location = response.status, response.read(), ""
        except urllib.error.HTTPError as error:
            status, body, location = error.code, error.read(), error.headers.get("Location", "")
        except OSError:
            status, body, location = 0, b"", ""
        self.stats.add(what, status, time.perf_counter() - started)
        text = body.decode(errors="replace")
        if status == 200 and (match := CSRF.search(text)):
            self.csrf = match.group(1) or match.group(2)
        return status, text, location

    def post(self, what: str, path: str, **form: str) -> tuple[int, str, str]:
        return self.request(what, path, {"csrf_token": self.csrf, **form})

    def login(self) -> bool:
        self.request("login form", "/login")
        status, _, _ = self.post("login", "/login", email=self.email, password=PASSWORD)
        return status in (302, 303)


def _think(stop: threading.Event) -> None:
    stop.wait(random.uniform(0.05, 0.25))  # noqa: S311 - pacing, not security


def _login(session: Session, stop: threading.Event) -> bool:
    while not stop.is_set():
        if session.login():
            return True
        stop.wait(1)  # the layout may be restarting (the fault run): try again
    return False


def viewer(session: Session, stop: threading.Event) -> None:
    if not _login(session, stop):
        return
    searches = ["security", "privacy", "policy", "load", "gdpr"]
    while not stop.is_set():
        status, body, _ = session.request("GET /policies", "/policies")
        ids = POLICY_LINK.findall(body) if status == 200 else []
        session.request("GET /policies?q=", f"/policies?q={random.choice(searches)}")  # noqa: S311
        if ids:
            policy_id = random.choice(ids)  # noqa: S311
            session.request("GET /policies/<id>", f"/policies/{policy_id}")
            session.request("GET /policies/<id>/revisions", f"/policies/{policy_id}/revisions")
        session.request("GET /notifications", "/notifications")
        if status == 401 or (status == 302 and not session.login()):
            stop.wait(1)
        _think(stop)


def owner(session: Session, stop: threading.Event, run_id: str) -> None:
    """Create a draft, edit it once, submit it for review: the submit fires the workflow."""
    if not _login(session, stop):
        return
    number = 0
    while not stop.is_set():
        number += 1
        title = f"Load {run_id} {session.email.split('@')[0]} {number}"
        session.request("GET /policies/new", "/policies/new")
        status, _, location = session.post(
            "POST /policies/new",
            "/policies/new",
            title=title,
            category="Load",
            body=f"# {title}\n\nWritten by the load run.",
            tags="load",
            review_frequency="",
            summary="First draft",
        )
        match = re.search(r"/policies/(\d+)$", location)
        if status not in (302, 303) or not match:
            _think(stop)
            continue
        policy_id = match.group(1)
        session.stats.count("policies created")
        status, body, _ = session.request("GET /policies/<id>/edit", f"/policies/{policy_id}/edit")
        version = VERSION.search(body)
        status, _, _ = session.post(
            "POST /policies/<id>/edit",
            f"/policies/{policy_id}/edit",
            title=title,
            category="Load",
            body=f"# {title}\n\nWritten by the load run, then edited.",
            tags="load, edited",
            review_frequency="",
            summary="Edited under load",
            version=version.group(1) if version else "",
        )
        if status in (302, 303):
            session.stats.count("policies edited")
        status, _, _ = session.post(
            "POST /policies/<id>/transition",
            f"/policies/{policy_id}/transition",
            target="in_review",
            change_kind="minor",
            reason="",
        )
        if status in (302, 303):
            session.stats.count("policies submitted")
        session.request("GET /policies/<id>", f"/policies/{policy_id}")
        _think(stop)


def approver(session: Session, stop: threading.Event) -> None:
    if not _login(session, stop):
        return
    while not stop.is_set():
        status, body, _ = session.request("GET /approvals", "/approvals")
        request_ids = list(dict.fromkeys(DECIDE.findall(body)))[:3] if status == 200 else []
        for request_id in request_ids:
            status, _, _ = session.post(
                "POST /approvals/<id>/decide",
                f"/approvals/{request_id}/decide",
                decision="approved",
                comment="Approved under load.",
                origin="inbox",
            )
            # 409: another approver of the group decided first; the request is closed.
            outcome = "decisions recorded" if status in (302, 303) else f"decide {status}"
            session.stats.count(outcome)
        _think(stop)


def admin(session: Session, stop: threading.Event) -> None:
    if not _login(session, stop):
        return
    while not stop.is_set():
        status, body, _ = session.request("GET /executions", "/executions")
        ids = EXECUTION_LINK.findall(body) if status == 200 else []
        session.request("GET /executions?status=", "/executions?status=waiting")
        if ids:
            execution_id = random.choice(ids[:10])  # noqa: S311
            session.request("GET /executions/<id>", f"/executions/{execution_id}")
        session.request("GET /admin/queues", "/admin/queues")
        session.request("GET /health/queues", "/health/queues")
        _think(stop)


def _guarded(role, session: Session, stop: threading.Event, *extra) -> None:
    """A virtual user that crashes is a bug of the load script: say so in the summary."""
    try:
        role(session, stop, *extra)
    except Exception:
        session.stats.crashed.append(threading.current_thread().name)
        raise


def start_users(base_url: str, stats: Stats, stop: threading.Event, *, scale: int = 1):
    """Threads: per scale unit 2 viewers, 2 owners, 3 approvers (Legal, Security, both), 1 admin."""
    run_id = uuid.uuid4().hex[:6]
    plan = []
    for _ in range(scale):
        plan += [(viewer, "victor@example.org"), (viewer, "victor@example.org")]
        plan += [(owner, "olivia@example.org", run_id), (owner, "omar@example.org", run_id)]
        plan += [(approver, f"{name}@example.org") for name in ("lena", "sam", "priya")]
        plan += [(admin, "admin@example.org")]
    threads = []
    for index, (role, email, *extra) in enumerate(plan):
        session = Session(base_url, stats, email)
        thread = threading.Thread(
            target=_guarded,
            args=(role, session, stop, *extra),
            name=f"{role.__name__}-{index}",
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    return threads


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def print_table(stats: Stats, seconds: float) -> None:
    by_page = defaultdict(list)
    statuses = defaultdict(Counter)
    for what, status, duration in stats.samples:
        by_page[what].append(duration)
        statuses[what][status] += 1
    every = [duration for _, _, duration in stats.samples]
    print(f"{'request':<32}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}  statuses")
    for what in sorted(by_page):
        durations = by_page[what]
        codes = " ".join(f"{code}:{n}" for code, n in sorted(statuses[what].items()))
        print(
            f"{what:<32}{len(durations):>7}{percentile(durations, 0.5) * 1000:>9.0f}"
            f"{percentile(durations, 0.95) * 1000:>9.0f}  {codes}"
        )
    total = Counter(status for _, status, _ in stats.samples)
    print(
        f"{'all':<32}{len(every):>7}{percentile(every, 0.5) * 1000:>9.0f}"
        f"{percentile(every, 0.95) * 1000:>9.0f}  "
        + " ".join(f"{code}:{n}" for code, n in sorted(total.items()))
    )
    print(f"requests/s: {len(every) / seconds:.1f} over {seconds:.0f} s")
    print("actions: " + ", ".join(f"{name} {n}" for name, n in sorted(stats.actions.items())))


# ------------------------------------------------------------------ invariants

INVARIANTS = {
    "executions neither finished nor waiting": """
        SELECT count(*) FROM executions
        WHERE status NOT IN ('succeeded', 'failed', 'rejected', 'cancelled', 'waiting')""",
    "steps stuck queued or running": """
        SELECT count(*) FROM step_runs WHERE status IN ('queued', 'running')""",
    "step runs with two succeeded attempts": """
        SELECT count(*) FROM (SELECT step_run_id FROM step_attempts WHERE outcome = 'succeeded'
                              GROUP BY step_run_id HAVING count(*) > 1) AS twice""",
    "step runs with two tasks": """
        SELECT count(*) FROM (SELECT step_run_id FROM tasks WHERE step_run_id IS NOT NULL
                              GROUP BY step_run_id HAVING count(*) > 1) AS twice""",
    "step runs notifying a user twice": """
        SELECT count(*) FROM (SELECT step_run_id, user_id FROM notifications
                              WHERE step_run_id IS NOT NULL
                              GROUP BY step_run_id, user_id HAVING count(*) > 1) AS twice""",
    "step runs asking the same approver twice": """
        SELECT count(*) FROM (SELECT step_run_id, assignee_user_id, assignee_group_id
                              FROM approval_requests
                              GROUP BY step_run_id, assignee_user_id, assignee_group_id
                              HAVING count(*) > 1) AS twice""",
    "executions changing a status twice": """
        SELECT count(*) FROM (
            SELECT substring(summary FROM '\\(workflow execution (\\d+)\\)$'), object_id,
                   changes -> 'status' ->> 'after'
            FROM audit_events
            WHERE action = 'policy.status_changed' AND summary LIKE '%(workflow execution %)'
            GROUP BY 1, 2, 3 HAVING count(*) > 1) AS twice""",
}


def _connect(layout: Layout) -> psycopg.Connection:
    url = layout.database_url.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(url, autocommit=True)


def wait_for_drain(layout: Layout, timeout: float = 120) -> float:
    """Seconds until no step is queued or running and no execution is pending or running."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            with _connect(layout) as connection:
                open_steps = connection.execute(
                    "SELECT count(*) FROM step_runs WHERE status IN ('queued', 'running')"
                ).fetchone()[0]
                open_executions = connection.execute(
                    "SELECT count(*) FROM executions WHERE status IN ('pending', 'running')"
                ).fetchone()[0]
            if open_steps == 0 and open_executions == 0:
                return time.monotonic() - started
        except psycopg.OperationalError:
            pass  # the database is coming back (fault run)
        time.sleep(1)
    return time.monotonic() - started


def check_invariants(layout: Layout) -> list[str]:
    """Print each invariant with its count; return the names of those that fail."""
    failures = []
    with _connect(layout) as connection:
        statuses = dict(
            connection.execute("SELECT status, count(*) FROM executions GROUP BY status")
        )
        steps = dict(connection.execute("SELECT status, count(*) FROM step_runs GROUP BY status"))
        print(f"executions by status: {statuses}")
        print(f"step runs by status:  {steps}")
        for name, query in INVARIANTS.items():
            found = connection.execute(query).fetchone()[0]
            print(f"  {'ok  ' if found == 0 else 'FAIL'} {name}: {found}")
            if found:
                failures.append(name)
    try:
        verified = layout.flask("verify-audit").strip().splitlines()
        print(f"  ok   flask verify-audit: {verified[0] if verified else ''}")
    except RuntimeError as error:
        print(f"  FAIL flask verify-audit: {error}")
        failures.append("audit chain")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--scale", type=int, default=1, help="virtual users: 8 per unit")
    args = parser.parse_args(argv)

    layout = Layout()
    print(f"Starting the layout (logs in {layout.workdir}) ...", flush=True)
    with layout:
        print(
            f"gunicorn -w {layout.web_workers} on {layout.base_url}, {layout.consumers} consumers "
            f"x {layout.consumer_workers} process workers, PostgreSQL {layout.database_url}, "
            f"Redis {layout.redis_url}; {8 * args.scale} virtual users for {args.seconds:.0f} s",
            flush=True,
        )
        stats = Stats()
        stop = threading.Event()
        threads = start_users(layout.base_url, stats, stop, scale=args.scale)
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        elapsed = time.monotonic() - stats.started
        print_table(stats, elapsed)
        drained = wait_for_drain(layout)
        print(f"queue drained in {drained:.1f} s after the load stopped")
        failures = check_invariants(layout)
    server_errors = sum(1 for _, status, _ in stats.samples if status >= 500 or status == 0)
    print(f"5xx or failed connections: {server_errors}")
    failures += [f"{server_errors} 5xx"] if server_errors else []
    failures += [f"virtual user {name} crashed" for name in stats.crashed]
    if failures:
        print("LOAD RUN FAILED: " + ", ".join(failures))
        return 1
    print("load run passed: zero 5xx, every invariant holds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
