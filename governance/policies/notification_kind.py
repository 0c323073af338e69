"""Notifications that link to a policy: their kind on the notifications page, and each one's
policy as it is now (title and status), for a page of them in at most two queries."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.auth.models import User
from governance.extensions import db
from governance.notifications.kinds import NotificationKind, Subject, Target
from governance.policies.lifecycle import PUBLISHED, STATUS_LABELS
from governance.policies.models import Policy, PolicyRevision
from governance.policies.visibility import can_read_policy_as_is


def describe_policies(reader: User, targets: list[Target]) -> dict[int, Subject]:
    ids = {target.view_args["policy_id"] for target in targets if "policy_id" in target.view_args}
    if not ids:
        return {}
    policies = {
        policy.id: policy
        for policy in db.session.scalars(
            sa.select(Policy).where(Policy.id.in_(ids)).options(so.lazyload(Policy.owner))
        )
    }
    subjects = {
        policy_id: Subject(policy.title, policy.status_label, f"status-{policy.status}")
        for policy_id, policy in policies.items()
        if can_read_policy_as_is(reader, policy)
    }
    # A reader without a drafting role reads the live version of a policy with a draft beside
    # it: its title is the live version's, and what they read is published.
    live = [policy_id for policy_id in policies if policy_id not in subjects]
    if live:
        titles = db.session.execute(
            sa.select(PolicyRevision.policy_id, PolicyRevision.title)
            .join(Policy, Policy.id == PolicyRevision.policy_id)
            .where(
                PolicyRevision.policy_id.in_(live),
                PolicyRevision.number == Policy.published_revision,
            )
        )
        for policy_id, title in titles:
            subjects[policy_id] = Subject(title, STATUS_LABELS[PUBLISHED], f"status-{PUBLISHED}")
    return {
        target.notification.id: subjects[target.view_args["policy_id"]]
        for target in targets
        if target.view_args.get("policy_id") in subjects
    }


POLICY_NOTIFICATIONS = NotificationKind(
    "policy", "Policies", ("/policies",), describe=describe_policies
)
