"""Views and API handlers never commit or roll back: a command's service is its unit of work.

Read from the source (no app needed): every module that answers HTTP (views, API handlers,
any module with a route) is parsed, and a `.commit()` or `.rollback()` call in it fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "governance"

# The error handlers are the one place that cleans up after an error a request did not handle:
# each rollback there says why, beside it.
ERROR_HANDLERS = {"api/errors.py", "web/errors.py"}


def _answers_http(path: Path, source: str) -> bool:
    relative = path.relative_to(PACKAGE).as_posix()
    return (
        path.name == "views.py"
        or path.name.endswith("_views.py")
        or relative.startswith("api/")
        or ".route(" in source
    )


def _http_modules() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if _answers_http(path, path.read_text(encoding="utf-8"))
    )


def _transaction_calls(source: str) -> list[str]:
    return [
        f"line {node.lineno}: .{node.func.attr}()"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"commit", "rollback"}
    ]


def test_the_scan_finds_the_views_and_the_api():
    found = {path.relative_to(PACKAGE).as_posix() for path in _http_modules()}
    assert {"policies/views.py", "api/policies.py", "queues/health.py"} <= found


def test_the_scan_sees_a_commit_and_a_rollback():
    source = "def view():\n    db.session.commit()\n    session.rollback()\n"
    assert _transaction_calls(source) == ["line 2: .commit()", "line 3: .rollback()"]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(path, id=path.relative_to(PACKAGE).as_posix())
        for path in _http_modules()
        if path.relative_to(PACKAGE).as_posix() not in ERROR_HANDLERS
    ],
)
def test_no_view_or_api_handler_commits_or_rolls_back(path: Path):
    calls = _transaction_calls(path.read_text(encoding="utf-8"))
    assert not calls, (
        f"{path.relative_to(PACKAGE)} owns a transaction ({', '.join(calls)}): call a service "
        "that runs in `with unit_of_work():` and turn its DomainError into the answer"
    )
