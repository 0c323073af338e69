"""Child processes of a benchmark: stopped the way a process manager would stop them."""

from __future__ import annotations

import signal
import subprocess


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM, time to finish, then SIGKILL if it has not."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
