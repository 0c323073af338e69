"""In-process domain events: services publish, the workflow engine subscribes.

Subscribers run inside the publisher's transaction, so whatever they write
(an execution, say) commits or rolls back with the change that caused it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

Subscriber = Callable[[str, dict[str, Any]], None]

_subscribers: dict[str, list[Subscriber]] = defaultdict(list)

POLICY_CREATED = "policy.created"
POLICY_UPDATED = "policy.updated"
POLICY_STATUS_CHANGED = "policy.status_changed"
# A revision was frozen as a published version (payload: policy_id, revision_id,
# version_label, change_kind "major"/"minor", previous_label, actor_id).
POLICY_VERSION_PUBLISHED = "policy.version_published"
# An execution ended (payload: execution_id, status "succeeded"/"failed"/"rejected"/
# "cancelled", trigger_type), published by the engine in the transaction that ended it.
EXECUTION_FINISHED = "execution.finished"


def subscribe(event_name: str) -> Callable[[Subscriber], Subscriber]:
    def decorator(fn: Subscriber) -> Subscriber:
        if fn not in _subscribers[event_name]:
            _subscribers[event_name].append(fn)
        return fn

    return decorator


def unsubscribe(event_name: str, fn: Subscriber) -> None:
    if fn in _subscribers[event_name]:
        _subscribers[event_name].remove(fn)


def publish(event_name: str, payload: dict[str, Any]) -> None:
    """Hand the event to every subscriber, in subscription order, in the caller's transaction."""
    for subscriber in list(_subscribers[event_name]):
        subscriber(event_name, payload)
