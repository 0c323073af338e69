"""What happens to a policy, as events other features react to (workflows start on them,
acknowledgement campaigns open, reviews are counted, exceptions end)."""

from __future__ import annotations

from dataclasses import dataclass

from governance.events import Event


@dataclass(frozen=True)
class PolicyCreated(Event):
    policy_id: int
    actor_id: int | None
    revision: int
    status: str


@dataclass(frozen=True)
class PolicyUpdated(Event):
    policy_id: int
    actor_id: int | None
    revision: int
    status: str
    changed: tuple[str, ...]  # the names of the fields the update changed


@dataclass(frozen=True)
class PolicyStatusChanged(Event):
    policy_id: int
    actor_id: int | None
    revision: int
    status: str
    old_status: str
    new_status: str
    reason: str | None = None
    # The execution whose step changed it (None for a person): its workflow is not re-triggered.
    source_execution_id: int | None = None


@dataclass(frozen=True)
class PolicyVersionPublished(Event):
    """A revision was frozen as a published version."""

    policy_id: int
    revision_id: int
    version_label: str
    change_kind: str  # "major" or "minor"
    previous_label: str | None
    actor_id: int | None
