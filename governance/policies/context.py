"""The policy context: what a workflow step may read about the policy its execution is about
(`policy.<field>` in conditions and templates), as plain values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy.orm as so

from governance.engine.context import ContextProvider
from governance.engine.models import Execution, StepRun
from governance.extensions import db
from governance.policies.lifecycle import STATUSES
from governance.policies.models import Policy

# policy_snapshot's keys (a test holds the two together).
POLICY_FIELDS = (
    "id",
    "title",
    "status",
    "category",
    "tags",
    "owner",
    "owner_id",
    "owner_name",
    "revision",
    "next_review_on",
)


def policy_snapshot(policy: Policy | None) -> dict[str, Any]:
    if policy is None:
        return {}
    return {
        "id": policy.id,
        "title": policy.title,
        "status": policy.status,
        "category": policy.category,
        "tags": policy.tag_list,
        "owner": policy.owner.email if policy.owner else None,
        "owner_id": policy.owner_id,
        "owner_name": policy.owner.name if policy.owner else None,
        "revision": policy.current_revision,
        "next_review_on": policy.next_review_on.isoformat() if policy.next_review_on else None,
    }


def read_policy(policy_id: int | None) -> dict[str, Any]:
    # A step's policy is already in the session (see eager_loads): no query here.
    return policy_snapshot(db.session.get(Policy, policy_id) if policy_id else None)


def _eager_loads() -> Sequence[Any]:
    """The policy (with its owner, not its body) comes with the step a consumer runs."""
    return (so.joinedload(StepRun.execution).joinedload(Execution.policy).defer(Policy.body),)


POLICY_CONTEXT = ContextProvider(
    name="policy",
    fields=POLICY_FIELDS,
    read=read_policy,
    eager_loads=_eager_loads,
    choices={"status": STATUSES},
)
