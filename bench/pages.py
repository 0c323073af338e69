"""Page benchmark: server time and SQL statements of the main pages at 1,000 and 100,000 policies.

`make bench` runs it after bench.engine; `python -m bench.pages` runs it alone. For each size it
keeps a PostgreSQL database seeded by `flask seed-bulk` (reused while its marker says it holds
that size; --reseed builds it again), starts one gunicorn per size with STEWARD_SERVER_TIMING=1,
requests each page 40 times at each size, the sizes taking turns, and reads the Server-Timing
header: p50, p95, statements per request, and the ratio p95(100k) / p95(1k). It asserts nothing
about time. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa

from bench.processes import stop

PROJECT_ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
# The pages read Huey's pending counts; nothing is enqueued, so any Redis database will do.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", os.environ.get("REDIS_URL", ""))
SIZES = {"1k": 1_000, "100k": 100_000}
PASSWORD = "steward-bulk"  # noqa: S105 (seed-bulk's published demo accounts)
ADMIN, APPROVER = "bulk-admin@example.org", "bulk-approver@example.org"
WARMUP = 5
TIMING = re.compile(r'app;dur=([\d.]+), sql;desc="(\d+) statements"')
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
MARKER = "bench_pages_seed"  # one row: the policy count seed-bulk was asked for

TARGET_RATIO = 1.5
TARGET_P95_MS = 100.0


@dataclass
class Figures:
    times: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]

    @property
    def statement_text(self) -> str:
        low, high = min(self.statements), max(self.statements)
        return str(low) if low == high else f"{low}-{high}"


# ----------------------------------------------------------------- the database


def database_name(label: str) -> str:
    return f"steward_bench_pages_{label}"


def seeded_size(url: str) -> int | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(MARKER):
                return None
            return connection.scalar(sa.text("SELECT policies FROM bench_pages_seed"))
    finally:
        engine.dispose()


def flask(arguments: list[str], environment: dict[str, str]) -> None:
    subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "flask", "--app", "app", *arguments],
        cwd=PROJECT_ROOT,
        env=environment,
        check=True,
    )


def ensure_database(label: str, policies: int, environment: dict[str, str], reseed: bool) -> str:
    """A migrated database seeded at this size: reused when its marker says so, else rebuilt."""
    name = database_name(label)
    url = f"{POSTGRES_URL}/{name}"
    server = sa.create_engine(f"{POSTGRES_URL}/postgres", isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
    environment = environment | {"DATABASE_URL": url}
    if exists and not reseed and seeded_size(url) == policies:
        print(f"{name}: already seeded with {policies:,} policies; migrating", flush=True)
        flask(["db", "upgrade"], environment)  # new indexes land on the existing rows
    else:
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        print(f"{name}: seeding {policies:,} policies with flask seed-bulk", flush=True)
        started = time.monotonic()
        flask(["db", "upgrade"], environment)
        flask(["seed-bulk", "--policies", str(policies)], environment)
        print(f"{name}: seeded in {time.monotonic() - started:.0f} s", flush=True)
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE bench_pages_seed (policies integer NOT NULL)"))
            connection.execute(sa.text("INSERT INTO bench_pages_seed VALUES (:n)"), {"n": policies})
        engine.dispose()
    server.dispose()
    # Fresh statistics and visibility map, as autovacuum would leave them on a settled system.
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()
    return url


@dataclass
class Subjects:
    """The rows the pages are asked about, chosen the same way at every size."""

    policy_id: int
    category: str
    word: str
    execution_id: int


def choose_subjects(url: str) -> Subjects:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        policy_id = connection.scalar(
            sa.text(
                "SELECT policy_id FROM policy_revisions GROUP BY policy_id "
                "HAVING count(*) >= 3 ORDER BY policy_id LIMIT 1"
            )
        )
        category = connection.scalar(
            sa.text(
                "SELECT category FROM policies WHERE status = 'published' "
                "GROUP BY category ORDER BY count(*) DESC, category LIMIT 1"
            )
        )
        execution_id = connection.scalar(
            sa.text("SELECT execution_id FROM step_runs ORDER BY execution_id DESC LIMIT 1")
        )
        total = connection.scalar(sa.text("SELECT count(*) FROM policies"))
        titles = connection.scalars(sa.text("SELECT title FROM policies ORDER BY id LIMIT 200"))
        words = sorted({w.lower() for t in titles for w in re.findall(r"[A-Za-z]{5,}", t)})
        # A word that some policies hold, not most: the one nearest 1% of them, matched as the
        # list's search matches (title or text).
        counts = {
            word: connection.scalar(
                sa.text(
                    "SELECT count(*) FROM policies"
                    " WHERE title ILIKE :pattern OR body ILIKE :pattern"
                ),
                {"pattern": f"%{word}%"},
            )
            for word in words[:40]
        }
    engine.dispose()
    word = min(counts, key=lambda w: (abs(counts[w] - total / 100), w)) if counts else "policy"
    return Subjects(policy_id, category, word, execution_id)


# ----------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(environment: dict[str, str], log: Path):
    """The app under gunicorn (2 sync workers) on a free port, stopped on the way out."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "app:app"],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"bench: gunicorn exited; see {log}:\n{log.read_text()[-2000:]}")
            try:
                requests.get(f"{base}/health", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):
                if time.monotonic() > deadline:
                    raise SystemExit("bench: gunicorn did not answer within 60 s") from None
                time.sleep(0.2)
        yield base
    finally:
        stop(process)


def logged_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    token = CSRF.search(session.get(f"{base}/login").text)
    if token is None:
        raise SystemExit("bench: no CSRF token on /login")
    response = session.post(
        f"{base}/login",
        data={"csrf_token": token.group(1), "email": email, "password": PASSWORD},
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise SystemExit(f"bench: could not log in as {email} ({response.status_code})")
    return session


def pages(subjects: Subjects) -> list[tuple[str, str, str]]:
    """(label, who, path) in the order the table prints them."""
    return [
        ("/policies", ADMIN, "/policies"),
        ("/policies?q= (search)", ADMIN, f"/policies?q={subjects.word}"),
        (
            "/policies?status&category",
            ADMIN,
            f"/policies?status=published&category={requests.utils.quote(subjects.category)}",
        ),
        ("/policies last page", ADMIN, "/policies?page=last"),
        ("/policies/<id>", ADMIN, f"/policies/{subjects.policy_id}"),
        ("/approvals (2,000 pending)", APPROVER, "/approvals"),
        ("/executions?status=failed", ADMIN, "/executions?status=failed"),
        ("/executions/<id>", ADMIN, f"/executions/{subjects.execution_id}"),
        ("/admin/queues", ADMIN, "/admin/queues"),
        ("/health/queues", None, "/health/queues"),
    ]


def timed_get(session: requests.Session, url: str) -> tuple[float, int]:
    """One request: the server's time and statement count from its Server-Timing header."""
    response = session.get(url, allow_redirects=False)
    # /health/queues answers 503 when no consumer is alive, as here: still measured.
    refused = response.status_code >= 500 and "/health/queues" not in url
    if refused or response.status_code in (301, 302, 403, 404):
        raise SystemExit(f"bench: {url} answered {response.status_code}")
    match = TIMING.search(response.headers.get("Server-Timing", ""))
    if match is None:
        raise SystemExit(f"bench: {url} sent no Server-Timing header")
    return float(match.group(1)), int(match.group(2))


def measure(
    bases: dict[str, str], subjects: dict[str, Subjects], count: int
) -> dict[str, dict[str, Figures]]:
    """Every page at every size, the sizes taking turns request by request.

    On a shared machine the load from elsewhere comes and goes; alternating puts both sizes
    through the same moments, so their ratio says more than two runs made minutes apart.
    """
    sessions = {}
    for label, base in bases.items():
        sessions[label] = {who: logged_in(base, who) for who in (ADMIN, APPROVER)}
        sessions[label][None] = requests.Session()
    results: dict[str, dict[str, Figures]] = {label: {} for label in bases}
    page_lists = {label: pages(subjects[label]) for label in bases}
    for index, (page, _, _) in enumerate(next(iter(page_lists.values()))):
        for label in bases:
            results[label][page] = Figures()
        for number in range(WARMUP + count):
            for label, base in bases.items():
                _, who, path = page_lists[label][index]
                milliseconds, statements = timed_get(sessions[label][who], f"{base}{path}")
                if number >= WARMUP:
                    results[label][page].times.append(milliseconds)
                    results[label][page].statements.append(statements)
    return results


# ----------------------------------------------------------------- the report


def print_size(label: str, subjects: Subjects, results: dict[str, Figures]) -> None:
    print(
        f"\n{label}: policy {subjects.policy_id}, category {subjects.category!r}, "
        f"search {subjects.word!r}, execution {subjects.execution_id}"
    )
    print(f"{'page':<30}{'p50 ms':>9}{'p95 ms':>9}{'statements':>12}")
    for page, figures in results.items():
        print(
            f"{page:<30}{figures.percentile(0.5):>9.1f}{figures.percentile(0.95):>9.1f}"
            f"{figures.statement_text:>12}"
        )


def print_ratios(small: dict[str, Figures], large: dict[str, Figures]) -> None:
    print(
        f"\nRatio p95(100k) / p95(1k): targets ratio <= {TARGET_RATIO}, "
        f"p95 < {TARGET_P95_MS:.0f} ms at 100k, the same statements at both sizes"
    )
    print(f"{'page':<30}{'1k p95':>9}{'100k p95':>10}{'ratio':>8}{'statements':>13}  met")
    for page, figures in large.items():
        before, after = small[page].percentile(0.95), figures.percentile(0.95)
        ratio = after / before if before else float("inf")
        same = small[page].statement_text == figures.statement_text
        statements = f"{small[page].statement_text} / {figures.statement_text}"
        met = ratio <= TARGET_RATIO and after < TARGET_P95_MS and same
        print(
            f"{page:<30}{before:>9.1f}{after:>10.1f}{ratio:>8.2f}{statements:>13}  "
            f"{'yes' if met else 'NO'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reseed", action="store_true", help="seed the databases again")
    parser.add_argument("--requests", type=int, default=40, help="requests per page (40)")
    parser.add_argument("--sizes", default="1k,100k", help="which sizes (1k,100k)")
    arguments = parser.parse_args()
    labels = [label for label in arguments.sizes.split(",") if label]
    unknown = [label for label in labels if label not in SIZES]
    if unknown:
        raise SystemExit(f"bench: unknown size {unknown}; choose from {', '.join(SIZES)}")

    with tempfile.TemporaryDirectory(prefix="steward-bench-pages-") as workdir:
        environment = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL",)}
        environment.update(
            FLASK_APP="app",
            STEWARD_ENV="development",
            STEWARD_SERVER_TIMING="1",
            STEWARD_INSTANCE_DIR=workdir,
            SECRET_KEY=uuid.uuid4().hex,
            HUEY_NAME=f"bench-pages-{uuid.uuid4().hex[:8]}",
            # Alerts are checked by consumers; in the web app they would add statements to
            # one request in thirty seconds and blur the per-request count.
            WEB_ALERT_CHECK_SECONDS="0",
        )
        if REDIS_URL:
            environment["REDIS_URL"] = REDIS_URL
        urls = {
            label: ensure_database(label, SIZES[label], environment, arguments.reseed)
            for label in labels
        }
        subjects = {label: choose_subjects(url) for label, url in urls.items()}
        with ExitStack() as servers:
            bases = {
                label: servers.enter_context(
                    gunicorn(
                        environment | {"DATABASE_URL": url},
                        Path(workdir) / f"gunicorn-{label}.log",
                    )
                )
                for label, url in urls.items()
            }
            results = measure(bases, subjects, arguments.requests)
        for label in labels:
            print_size(label, subjects[label], results[label])
    if "1k" in results and "100k" in results:
        print_ratios(results["1k"], results["100k"])


if __name__ == "__main__":
    main()
