"""A real consumer for tests: `flask worker` (Huey + reconciler) in a subprocess, on the
test database and the test queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Consumer:
    process: subprocess.Popen
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def running_consumer(app, workers: int = 2, **environment: str) -> Iterator[Consumer]:
    """Start a consumer; stop it gracefully (SIGTERM) when the block ends.

    Its output goes to a file, not a pipe: a chatty consumer must never block on a full pipe.
    """
    env = (
        os.environ
        | {
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "RECONCILE_INTERVAL_SECONDS": "1",
            "WEBHOOK_ALLOWLIST": "127.0.0.1",
        }
        | environment
    )
    log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, read after
        prefix="consumer-", suffix=".log", delete=False
    )
    process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "flask", "--app", "app", "worker", "--workers", str(workers)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    consumer = Consumer(process, Path(log_file.name))
    try:
        yield consumer
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_file.close()
