"""Reconciler sweeps: periodic work a feature asks the reconciler to do after its own.

A sweep is `fn(now) -> count`, registered by name from a feature's register(app) (approvals:
escalate overdue requests; notifications: re-send lost emails, send due digests). Each runs in
its own transaction, which the reconciler commits after it; like the reconciler's own work it
must be safe to run twice at once (a conditional UPDATE decides). The name keys its count in
the reconciler's report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType

Sweep = Callable[[datetime], int]

# Filled by register(app) calls at start-up; registering a name again replaces it.
_registry: dict[str, Sweep] = {}


def register_sweep(name: str, sweep: Sweep) -> Sweep:
    _registry[name] = sweep
    return sweep


def unregister_sweep(name: str) -> None:
    _registry.pop(name, None)


def sweeps() -> Mapping[str, Sweep]:
    """Every registered sweep by name, in the order they were registered."""
    return MappingProxyType(_registry)
