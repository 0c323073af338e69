"""The README's API examples, run as written: every ```sh block under "## API", in order, in one
bash session (so variables carry over), against a real server (`flask run`, as `make run`
starts it) and a real consumer, with STEWARD_URL and TOKEN (an admin's) set. Each block must
succeed, and a ```json block right after it is its output: the JSON printed must equal it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import require_service
from tests.consumers import running_consumer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FENCED_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
SCRIPT_TIMEOUT_SECONDS = 90


@dataclass
class Example:
    script: str
    output: str | None  # the ```json block shown after it, if any


def readme_api_examples() -> list[Example]:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("\n## API\n", 1)[1].split("\n## ", 1)[0]
    blocks = FENCED_BLOCK.findall(section)
    examples = []
    for index, (language, text) in enumerate(blocks):
        if language != "sh":
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        output = following[1] if following and following[0] == "json" else None
        examples.append(Example(text, output))
    return examples


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_server(app) -> Iterator[str]:
    """`flask run` on the test database at a free port; its URL once it answers."""
    port = _free_port()
    env = os.environ | {
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "WEB_ALERT_CHECK_SECONDS": "0",
    }
    log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, read on failure
        prefix="server-", suffix=".log", delete=False
    )
    command = [sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port)]
    process = subprocess.Popen(  # noqa: S603 - our own app, fixed arguments
        command, cwd=PROJECT_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v1/openapi.json", timeout=2):  # noqa: S310
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        "the server did not start:\n" + Path(log_file.name).read_text()
                    ) from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_file.close()


def _bash_script(examples: list[Example], outputs: Path) -> str:
    """One session: each block's output goes to its own file, the first failure stops it."""
    lines = ["set -euo pipefail"]
    for index, example in enumerate(examples):
        lines += ["{", example.script.rstrip("\n"), f"}} > {outputs / str(index)}"]
    return "\n".join(lines) + "\n"


def test_the_readme_api_examples_work_as_written(app, users, api_token, tmp_path):
    for tool in ("bash", "curl", "jq"):
        require_service(shutil.which(tool) is not None, f"the README's examples need {tool}")
    examples = readme_api_examples()
    assert len(examples) >= 8, "the README's API section lost its examples"
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    script = tmp_path / "examples.sh"
    script.write_text(_bash_script(examples, outputs))

    with running_server(app) as url, running_consumer(app):
        env = os.environ | {"STEWARD_URL": url, "TOKEN": api_token(users["admin"])}
        result = subprocess.run(  # noqa: S603 - the README's own examples
            ["bash", str(script)],  # noqa: S607
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT_SECONDS,
        )

    ran = len(list(outputs.iterdir()))
    printed = [(outputs / str(index)).read_text() for index in range(ran)]
    if result.returncode != 0:
        raise AssertionError(
            f"README API example {ran} of {len(examples)} failed (exit {result.returncode}):\n"
            f"{examples[ran - 1].script}\nprinted:\n{printed[-1]}\nstderr:\n{result.stderr}"
        )
    for example, output in zip(examples, printed, strict=True):
        if example.output is not None:
            assert json.loads(output) == json.loads(example.output), (
                f"{example.script}\nprinted:\n{output}\nbut the README shows:\n{example.output}"
            )
