"""Development data stays out of the app's import graph: only the seed commands load it."""

from __future__ import annotations

import ast
from pathlib import Path

GOVERNANCE = Path(__file__).resolve().parents[2] / "governance"


def _imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""]
    return []


def _devdata_imports(tree: ast.AST) -> list[ast.AST]:
    return [
        node
        for node in ast.walk(tree)
        if any(name.split(".")[0] == "devdata" for name in _imported_modules(node))
    ]


def _inside_a_function(tree: ast.AST, node: ast.AST) -> bool:
    return any(
        isinstance(parent, ast.FunctionDef) and node in ast.walk(parent)
        for parent in ast.walk(tree)
    )


def test_only_the_cli_imports_devdata_and_only_inside_its_commands():
    importers = {}
    for path in GOVERNANCE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        imports = _devdata_imports(tree)
        if imports:
            importers[path.relative_to(GOVERNANCE).as_posix()] = (tree, imports)

    assert set(importers) == {"cli.py"}
    tree, imports = importers["cli.py"]
    assert all(_inside_a_function(tree, node) for node in imports)
