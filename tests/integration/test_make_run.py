"""`make run`'s start and stop, through make itself: the address it prints, and a SIGTERM to the
make process that must stop honcho, web and worker (none may be left running).

`make serve` is `make run` without the install, migrate and seed steps, so the test starts the
same recipe on the test database (already migrated) in a few seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from devdata.demo import DEMO_PASSWORD

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make") or "make"
STARTED = re.compile(rb"(web|worker)\.1 started \(pid=(\d+)\)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children() -> dict[int, list[int]]:
    """Every process's children, read from /proc (ppid is the fourth field of stat)."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _is_running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has stopped already


def _wait_for_health(url: str, make: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        assert make.poll() is None, "make exited before the app answered"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our server
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer 200 in time")


def test_sigterm_to_make_stops_honcho_web_and_worker(app, db):
    if not Path("/proc/self/stat").exists() or shutil.which("make") is None:
        pytest.skip("needs make, and /proc to find the processes honcho starts")
    port = _free_port()
    instance = tempfile.mkdtemp(prefix="steward-make-run-")
    environment = {
        **os.environ,
        "PORT": str(port),
        "STEWARD_INSTANCE_DIR": instance,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        # Its own queue, so this worker never takes the other tests' messages.
        "HUEY_NAME": f"steward-make-run-{uuid.uuid4().hex[:8]}",
        "HUEY_SQLITE_PATH": os.path.join(instance, "huey.db"),
        "PYTHONUNBUFFERED": "1",
    }
    log = Path(instance) / "make.log"
    processes: set[int] = set()
    with log.open("wb") as output:
        make = subprocess.Popen(  # noqa: S603 - our own Makefile, fixed arguments
            [MAKE, "--no-print-directory", "serve", f"BIN={Path(sys.executable).parent}"],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: nothing but the make process is signalled
        )
        try:
            _wait_for_health(f"http://127.0.0.1:{port}/health", make, time.monotonic() + 30)
            started = dict(STARTED.findall(log.read_bytes()))
            assert set(started) == {b"web", b"worker"}, log.read_text()
            processes = _descendants(make.pid)
            for pid in map(int, started.values()):
                processes |= {pid} | _descendants(pid)
            make.send_signal(signal.SIGTERM)
            make.wait(timeout=15)
            deadline = time.monotonic() + 10
            while any(map(_is_running, processes)) and time.monotonic() < deadline:
                time.sleep(0.2)
            left = sorted(pid for pid in processes if _is_running(pid))
        finally:
            if make.poll() is None:
                make.kill()
            # Never leave a server behind, whatever the outcome.
            for pid in processes:
                if _is_running(pid):
                    os.kill(pid, signal.SIGKILL)
    text = log.read_text()
    assert not left, f"still running after SIGTERM to make: {left}\n{text}"
    assert f"Steward on http://127.0.0.1:{port} " in text
    assert "admin@example.org" in text and DEMO_PASSWORD in text
