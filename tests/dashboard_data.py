"""A realistic governance estate for the dashboard tests and its screenshot: policies in every
status, reviews overdue and coming up, approvals waiting for various ages, an acknowledgement
campaign under way and active exceptions. Everything goes through the real services, except
ages (created_at) and the rows whose services other features own (campaigns, exceptions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from governance.acknowledgements.models import AckCampaign, Acknowledgement
from governance.approvals.models import ApprovalRequest
from governance.extensions import db
from governance.policies import service as policies
from governance.policies import versions
from governance.policy_exceptions.models import PolicyException
from governance.reviews.service import run_review_schedule
from governance.timeutil import utcnow
from tests import factories


@dataclass
class Estate:
    overdue_id: int
    due_soon_ids: list[int]
    campaign_policy_id: int


def seed_estate(users, *, extra_people: int = 3) -> Estate:
    owner, admin = users["owner"], users["admin"]
    today = utcnow().date()

    def published(title, category, days, frequency="yearly"):
        return factories.make_policy(
            owner,
            status="published",
            admin=admin,
            title=title,
            category=category,
            review_frequency=frequency,
            next_review_on=today + timedelta(days=days),
        )

    overdue = published("Information Security Policy", "Security", -12)
    soon = [
        published("Acceptable Use Policy", "Security", 6, "quarterly"),
        published("Data Retention Policy", "Privacy", 19),
    ]
    campaign_policy = published("Code of Conduct", "People", 200)
    published("Business Continuity Plan", "Operations", 75, "quarterly")
    factories.make_policy(
        owner, status="retired", admin=admin, title="Legacy VPN Policy", category="Security"
    )
    factories.make_policy(owner, status="approved", admin=admin, title="Travel and Expenses")
    factories.make_policy(owner, title="AI Usage Guidelines", category="Technology")
    factories.make_policy(owner, title="Remote Work Policy", category="People")
    factories.make_workflow(
        admin,
        trigger={"type": "policy.status_changed", "to_status": "in_review"},
        stages=[
            [
                factories.step(
                    "legal_review",
                    "approval",
                    {"rule": "any", "users": [users["approver"].id, users["security"].id]},
                )
            ]
        ],
    )
    for title in ("Vendor Risk Management", "Password Standard", "Incident Response Plan"):
        policy = factories.make_policy(owner, title=title, category="Security")
        policies.transition_policy(policy.id, "in_review", actor=owner)
    factories.run_queued_steps()
    run_review_schedule(today)

    # Ages of the six waiting approval requests (two approvers for each of three policies).
    now = utcnow()
    requests = db.session.scalars(sa.select(ApprovalRequest).order_by(ApprovalRequest.id)).all()
    for request, age in zip(
        requests, (2, 20, 40, 100, 130, 240), strict=False
    ):  # hours: <1d, <1d, 1-3d, 3-7d, 3-7d, >7d
        request.created_at = now - timedelta(hours=age)
    requests[-1].due_at = now - timedelta(days=2)

    people = [users[name] for name in ("admin", "owner", "approver", "security", "viewer")]
    people += [factories.make_user("viewer") for _ in range(extra_people)]
    _campaign(soon[0], people[:3], acknowledged=1, due_in=5)
    revision = versions.latest_version(campaign_policy.id)
    campaign = AckCampaign(
        policy_id=campaign_policy.id,
        revision_id=revision.id,
        version_label=revision.version_label,
        audience="Everyone",
        due_on=today + timedelta(days=14),
    )
    db.session.add(campaign)
    db.session.flush()
    for index, person in enumerate(people):
        db.session.add(
            Acknowledgement(
                campaign_id=campaign.id,
                user_id=person.id,
                acknowledged_at=now - timedelta(days=1) if index % 4 != 3 else None,
                version_label=revision.version_label,
            )
        )
    for policy, scope, days, status in (
        (overdue, "Legacy payroll server (no MFA)", 9, "active"),
        (soon[0], "Contractors in the data team", 45, "active"),
        (overdue, "Old kiosk terminals", -3, "expired"),
    ):
        db.session.add(
            PolicyException(
                policy_id=policy.id,
                scope=scope,
                justification="Replacement planned; compensating controls in place.",
                expires_on=today + timedelta(days=days),
                status=status,
                requested_by_id=owner.id,
            )
        )
    db.session.commit()
    return Estate(
        overdue_id=overdue.id,
        due_soon_ids=[policy.id for policy in soon],
        campaign_policy_id=campaign_policy.id,
    )


def _campaign(policy, people, *, acknowledged: int, due_in: int) -> None:
    """An open campaign for the policy's live version; the first `acknowledged` people read it."""
    revision = versions.latest_version(policy.id)
    campaign = AckCampaign(
        policy_id=policy.id,
        revision_id=revision.id,
        version_label=revision.version_label,
        audience="Security",
        due_on=utcnow().date() + timedelta(days=due_in),
    )
    db.session.add(campaign)
    db.session.flush()
    for index, person in enumerate(people):
        db.session.add(
            Acknowledgement(
                campaign_id=campaign.id,
                user_id=person.id,
                acknowledged_at=utcnow() if index < acknowledged else None,
                version_label=revision.version_label if index < acknowledged else None,
            )
        )
