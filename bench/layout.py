"""The production layout on loopback, as child processes: gunicorn with several sync workers,
three `flask worker` consumers with process workers, PostgreSQL and Redis.

bench/load.py and bench/fault.py drive it. By default it uses the machine's PostgreSQL (a fresh
database `steward_bench_ops`) and Redis db 14; the fault run asks for a Redis server and a
PostgreSQL cluster of its own, so it can restart them without touching anyone else's.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench.processes import stop

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DATABASE = "steward_bench_ops"
POSTGRES_BIN = Path(os.environ.get("BENCH_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def _as_postgres_user() -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class OwnRedis:
    """A redis-server of our own (no persistence), so a restart disturbs nobody else."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.log = workdir / "redis.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
        _wait_for_port(self.port, 10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def restart(self, down_seconds: float = 1.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()


class OwnPostgres:
    """A PostgreSQL cluster of our own in a temporary directory (initdb with trust auth)."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.datadir = workdir / "pgdata"
        self.log = workdir / "postgres.log"
        self.workdir = workdir

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def _run(self, *args: str) -> None:
        subprocess.run([*_as_postgres_user(), *args], check=True, capture_output=True)  # noqa: S603

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres", "postgres")
            self.workdir.chmod(0o755)
        self._run(str(POSTGRES_BIN / "initdb"), "-D", str(self.datadir), "-U", "postgres")

    def _ctl(self, *args: str) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.workdir}"
        self._run(
            str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.log),
            "-o", options, "-w", *args,
        )  # fmt: skip

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        if self.datadir.exists():
            with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
                self._ctl("stop", "-m", "fast")


@dataclass
class Layout:
    """Web (gunicorn) + consumers on one database and one Redis, on loopback."""

    postgres_admin_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432"
    redis_url: str = "redis://127.0.0.1:6379/14"
    web_workers: int = 3
    consumers: int = 3
    consumer_workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="steward-ops-")))
    port: int = field(default_factory=free_port)
    web: subprocess.Popen | None = None
    consumer_processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return f"{self.postgres_admin_url}/{DATABASE}"

    def environment(self) -> dict[str, str]:
        """What every process of the layout shares: the production settings, on plain HTTP."""
        if not hasattr(self, "_secret"):
            self._secret = secrets.token_hex(32)
            self._checkpoint_key = secrets.token_hex(32)
        return (
            os.environ
            | {
                "FLASK_APP": "app",
                "STEWARD_ENV": "production",
                "SECRET_KEY": self._secret,
                "AUDIT_CHECKPOINT_KEY": self._checkpoint_key,
                "STEWARD_BASE_URL": self.base_url,
                # Loopback is plain HTTP: a Secure cookie never comes back. Never in production.
                "SESSION_COOKIE_SECURE": "0",
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "HUEY_NAME": "steward-bench-ops",
                "STEWARD_INSTANCE_DIR": str(self.workdir / "instance"),
                "LOGIN_FAILURE_LIMIT": "1000 per minute",
                "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            }
            | self.extra_env
        )

    def _flask(self, *args: str) -> str:
        result = subprocess.run(  # noqa: S603 - our own CLI
            [str(BIN / "flask"), "--app", "app", *args],
            cwd=PROJECT_ROOT,
            env=self.environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def prepare_database(self) -> None:
        """A fresh database built by the migrations, with the demo data; an empty queue."""
        admin = self.postgres_admin_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(f"{admin}/postgres", autocommit=True) as connection:
            found = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if not found:
                connection.execute(f'CREATE DATABASE "{DATABASE}"')
        # An empty schema, not DROP DATABASE: that waits for a checkpoint, which on a busy
        # shared server can take minutes.
        with psycopg.connect(f"{admin}/{DATABASE}", autocommit=True) as connection:
            connection.execute("DROP SCHEMA public CASCADE")
            connection.execute("CREATE SCHEMA public")
        self._flask("db", "upgrade")
        self._flask("seed-demo")
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()  # db 14 or our own server: ours alone

    def _log(self, name: str):
        return (self.workdir / f"{name}.log").open("ab")

    def start_web(self) -> None:
        command = [str(BIN / "gunicorn"), "-w", str(self.web_workers)]
        command += ["-b", f"127.0.0.1:{self.port}", "--timeout", "30", "app:app"]
        with self._log("web") as output:
            self.web = subprocess.Popen(  # noqa: S603
                command, cwd=PROJECT_ROOT, env=self.environment(), stdout=output, stderr=output
            )

    def start_consumer(self) -> subprocess.Popen:
        command = [str(BIN / "flask"), "--app", "app", "worker"]
        command += ["--workers", str(self.consumer_workers), "--worker-type", "process"]
        name = f"consumer-{len(self.consumer_processes) + 1}"
        with self._log(name) as output:
            process = subprocess.Popen(  # noqa: S603
                command,
                cwd=PROJECT_ROOT,
                env=self.environment(),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its process workers die with it on kill_consumer
            )
        self.consumer_processes.append(process)
        return process

    def live_consumers(self) -> list[subprocess.Popen]:
        return [process for process in self.consumer_processes if process.poll() is None]

    def kill_consumer(self, process: subprocess.Popen) -> None:
        """SIGKILL a consumer and its worker processes, as a crash or the OOM killer would."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_consumer(self, process: subprocess.Popen, timeout: float = 30) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill_consumer(process)

    def start(self) -> None:
        self.prepare_database()
        self.start_web()
        for _ in range(self.consumers):
            self.start_consumer()
        self.wait_for_health()

    def health(self, path: str = "/health") -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=5) as response:  # noqa: S310
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)
        except (OSError, ValueError):
            return 0, {}

    def wait_for_health(self, timeout: float = 60, path: str = "/health") -> float:
        """Seconds until `path` answers 200 (for /health/queues: consumers alive, lag fine)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.health(path)[0] == 200:
                return time.monotonic() - started
            time.sleep(0.25)
        raise RuntimeError(f"{path} not healthy after {timeout:.0f} s; logs in {self.workdir}")

    def flask(self, *args: str) -> str:
        """A flask command against the layout's database (verify-audit, reconcile)."""
        return self._flask(*args)

    def teardown(self) -> None:
        for process in self.consumer_processes:
            self.stop_consumer(process)
        if self.web:
            stop(self.web)

    def __enter__(self) -> Layout:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.teardown()
