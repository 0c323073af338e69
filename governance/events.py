"""In-process domain events: a feature publishes one, the features that care react to it.

Each event is a frozen dataclass of plain values, defined by the package that publishes it
(`policies/events.py`, `engine/events.py`). Subscribers are registered by each feature's
`register(app)`, never as a side effect of an import, and run inside the publisher's
transaction: whatever they write commits or rolls back with the change that caused it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar


@dataclass(frozen=True)
class Event:
    """The base of every domain event."""


E = TypeVar("E", bound=Event)
# A handler may return a value (a trigger returns the executions it started); publish ignores it.
Handler = Callable[[Any], object]

# Filled by register(app) calls at start-up; idempotent, so a second app changes nothing.
_handlers: dict[type[Event], list[Handler]] = defaultdict(list)


def subscribe(event_type: type[E], handler: Callable[[E], object]) -> None:
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def unsubscribe(event_type: type[E], handler: Callable[[E], object]) -> None:
    if handler in _handlers[event_type]:
        _handlers[event_type].remove(handler)


def publish(event: Event) -> None:
    """Hand the event to every subscriber of its type, in subscription order, in the caller's
    transaction."""
    for handler in list(_handlers[type(event)]):
        handler(event)
