"""Context providers: what a step may read about its execution's subject.

An execution may be about a subject (today: a policy, by its id in `policy_id`). A feature
registers a provider from its register(app): a name (the root conditions and templates read,
`policy`), the fields it gives (the designer checks templates against them) and how to read
them, as plain values, for a subject id. The engine builds each step's data from every
registered provider, and the data a trigger's conditions see from the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


def _no_options() -> Sequence[Any]:
    return ()


@dataclass(frozen=True)
class ContextProvider:
    name: str
    fields: tuple[str, ...]  # the keys read() returns
    # The subject's values for a step (plain values, never ORM objects); {} for no subject.
    read: Callable[[int | None], dict[str, Any]]
    # Loader options for the one query that loads a step to run (run.claim_step), so read()
    # finds its rows already in the session instead of asking the database once more per step.
    eager_loads: Callable[[], Sequence[Any]] = _no_options
    # Fields with a closed set of values, which a condition must compare with one of them.
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


# Filled by register(app) calls at start-up; registering a name again replaces it.
_registry: dict[str, ContextProvider] = {}
# Bumped on every change, so a statement built from the providers is built again.
_generation = 0


def register_context(provider: ContextProvider) -> ContextProvider:
    global _generation
    if _registry.get(provider.name) != provider:
        _registry[provider.name] = provider
        _generation += 1
    return provider


def unregister_context(name: str) -> None:
    global _generation
    if _registry.pop(name, None) is not None:
        _generation += 1


def providers() -> Mapping[str, ContextProvider]:
    return MappingProxyType(_registry)


def generation() -> int:
    return _generation


def subject_data(subject_id: int | None) -> dict[str, dict[str, Any]]:
    """What every provider gives about this subject: {"policy": {...}, ...}."""
    return {name: provider.read(subject_id) for name, provider in _registry.items()}
