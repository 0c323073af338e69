"""The policy lifecycle as a pure transition table: no database, no Flask."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PolicyStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    PUBLISHED = "published"
    RETIRED = "retired"


# The short names the transition table and the services read: the enum's own members.
DRAFT = PolicyStatus.DRAFT
IN_REVIEW = PolicyStatus.IN_REVIEW
APPROVED = PolicyStatus.APPROVED
PUBLISHED = PolicyStatus.PUBLISHED
RETIRED = PolicyStatus.RETIRED

# The CHECK constraint's and the forms' value list: the enum's plain strings.
STATUSES = tuple(status.value for status in PolicyStatus)
# Keyed by the plain string a `status` column holds; each member is equal to its string.
STATUS_LABELS: dict[str, str] = {
    DRAFT: "Draft",
    IN_REVIEW: "In review",
    APPROVED: "Approved",
    PUBLISHED: "Published",
    RETIRED: "Retired",
}
EDITABLE_STATUSES = frozenset({DRAFT})


@dataclass(frozen=True)
class Transition:
    source: PolicyStatus
    target: PolicyStatus
    action: str  # the verb shown on the button
    roles: frozenset[str]  # any of these roles may take it...
    owner_may: bool  # ...and so may the policy's owner, if True
    needs_reason: bool = False
    # Four-eyes: nobody who submitted the change or wrote any revision of it may take it.
    four_eyes: bool = False
    # Refused while a workflow execution decides the policy's status (policies/gate.py).
    # Sending a policy back to draft never skips that review, so those moves stay open: the
    # waiting execution's decisions go stale with the next edit and are asked again.
    gated: bool = True


TRANSITIONS: tuple[Transition, ...] = (
    Transition(DRAFT, IN_REVIEW, "Submit for review", frozenset({"admin"}), owner_may=True),
    Transition(
        IN_REVIEW,
        DRAFT,
        "Request changes",
        frozenset({"admin"}),
        owner_may=False,
        needs_reason=True,
        gated=False,
    ),
    Transition(
        IN_REVIEW, APPROVED, "Approve", frozenset({"admin"}), owner_may=False, four_eyes=True
    ),
    Transition(APPROVED, PUBLISHED, "Publish", frozenset({"admin"}), owner_may=True),
    Transition(
        PUBLISHED, RETIRED, "Retire", frozenset({"admin"}), owner_may=True, needs_reason=True
    ),
    # A new draft beside the published version, which stays live until the next publication.
    Transition(
        PUBLISHED, DRAFT, "Start revision", frozenset({"admin"}), owner_may=True, gated=False
    ),
)


def find_transition(source: str, target: str) -> Transition | None:
    return next((t for t in TRANSITIONS if t.source == source and t.target == target), None)


def allowed_targets(source: str) -> list[str]:
    return [t.target for t in TRANSITIONS if t.source == source]


def may_take(
    transition: Transition,
    *,
    actor_roles: set[str],
    is_owner: bool,
    is_submitter: bool,
    wrote_change: bool = False,
) -> bool:
    """Whether an actor with these roles and relation to the policy may take the transition.

    `wrote_change`: the actor authored a revision of the change under review (since the last
    published version, or since creation when never published).
    """
    if transition.four_eyes and (is_submitter or wrote_change):
        return False
    return bool(actor_roles & transition.roles) or (transition.owner_may and is_owner)
