"""Who may read a policy: a check on one loaded policy, and the same rule in SQL for lists.

Readers without a drafting role read only what is published; see governance.visibility for the
404-not-403 rule.
"""

from __future__ import annotations

import sqlalchemy as sa

from governance.auth.models import User
from governance.extensions import db
from governance.policies.lifecycle import PUBLISHED, RETIRED
from governance.policies.models import Policy, PolicyRevision

# Drafting and deciding roles read every policy, draft or not, and every exception.
READ_ALL_ROLES = frozenset({"admin", "owner", "approver"})


def can_read_drafts(user: User) -> bool:
    return user.has_role(*READ_ALL_ROLES)


def can_read_policy(user: User, policy: Policy) -> bool:
    """Readers without a drafting role read a policy with a live published version (and only
    that version, never a draft beside it); the others read every policy."""
    return can_read_drafts(user) or policy.has_live_version


def can_read_policy_as_is(user: User, policy: Policy) -> bool:
    """Whether the policy's current text (its row: title, body, changes) is readable, not only
    its live version: for readers without a drafting role, only while no draft is beside it."""
    return can_read_drafts(user) or policy.status == PUBLISHED


def readable_policies(user: User) -> sa.ColumnElement[bool] | None:
    """can_read_policy in SQL (None: no filter)."""
    if can_read_drafts(user):
        return None
    return sa.and_(Policy.published_revision.is_not(None), Policy.status != RETIRED)


def policy_face(user: User, policy: Policy) -> Policy | PolicyRevision:
    """What this user reads of the policy: the policy itself, or its live version when a draft
    is beside it that they may not read (title, category, tags and body come from it). For a
    policy the user may read; a draft never published is itself, so check can_read_policy."""
    if can_read_policy_as_is(user, policy) or policy.published_revision is None:
        return policy
    live = db.session.scalar(
        sa.select(PolicyRevision).where(
            PolicyRevision.policy_id == policy.id,
            PolicyRevision.number == policy.published_revision,
        )
    )
    return live or policy
