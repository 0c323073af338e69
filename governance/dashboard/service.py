"""The governance dashboard's figures: a handful of aggregate queries, whatever the data size.

Each figure uses the same conditions as the filtered list it links to, so the number on the
dashboard is the number of rows the list shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from governance.acknowledgements.models import AckCampaign, Acknowledgement
from governance.approvals.models import ApprovalRequest
from governance.extensions import db
from governance.policies import lifecycle
from governance.policies.models import Policy
from governance.policies.service import review_filter
from governance.policy_exceptions.models import PolicyException
from governance.timeutil import utcnow

LIST_LIMIT = 5
ACK_LIMIT = 10
# Pending approvals by how long they have waited: (key, label, waited less than).
AGE_BUCKETS = (
    ("under_1d", "Under 1 day", timedelta(days=1)),
    ("1_3d", "1–3 days", timedelta(days=3)),
    ("3_7d", "3–7 days", timedelta(days=7)),
    ("over_7d", "Over 7 days", None),
)


@dataclass
class ReviewFigure:
    count: int
    policies: list[tuple[int, str, date | None, date | None]]  # id, title, next, overdue since


@dataclass
class AckFigure:
    policy_id: int
    title: str
    version_label: str
    due_on: date
    acknowledged: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.acknowledged / self.total) if self.total else 100


@dataclass
class ApprovalFigure:
    total: int
    overdue: int
    buckets: list[tuple[str, str, int]]  # key, label, count


@dataclass
class ExceptionFigure:
    count: int
    soonest: list[tuple[int, int, str, str, date]]  # id, policy id, policy title, scope, expiry


@dataclass
class Dashboard:
    by_status: list[tuple[str, str, int]]  # status, label, count
    due_soon: ReviewFigure
    overdue: ReviewFigure
    acknowledgements: list[AckFigure]
    approvals: ApprovalFigure
    exceptions: ExceptionFigure
    generated_at: datetime = field(default_factory=utcnow)

    @property
    def total_policies(self) -> int:
        return sum(count for _, _, count in self.by_status)


def policies_by_status() -> list[tuple[str, str, int]]:
    counts = dict(
        db.session.execute(sa.select(Policy.status, sa.func.count()).group_by(Policy.status)).all()
    )
    return [
        (status, lifecycle.STATUS_LABELS[status], counts.get(status, 0))
        for status in lifecycle.STATUSES
    ]


def _review_figure(kind: str, order_by) -> ReviewFigure:
    conditions = review_filter(kind)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Policy).where(*conditions))
    rows = db.session.execute(
        sa.select(Policy.id, Policy.title, Policy.next_review_on, Policy.review_overdue_since)
        .where(*conditions)
        .order_by(order_by, Policy.id)
        .limit(LIST_LIMIT)
    ).all()
    return ReviewFigure(count=count or 0, policies=[row.tuple() for row in rows])


def acknowledgement_completion() -> list[AckFigure]:
    """Open campaigns with their acknowledged/total counts, least complete first."""
    acknowledged = sa.func.count(Acknowledgement.acknowledged_at)
    total = sa.func.count(Acknowledgement.id)
    rows = db.session.execute(
        sa.select(
            Policy.id,
            Policy.title,
            AckCampaign.version_label,
            AckCampaign.due_on,
            acknowledged,
            total,
        )
        .join(Policy, Policy.id == AckCampaign.policy_id)
        .join(Acknowledgement, Acknowledgement.campaign_id == AckCampaign.id)
        .where(AckCampaign.closed_at.is_(None))
        .group_by(
            AckCampaign.id, Policy.id, Policy.title, AckCampaign.version_label, AckCampaign.due_on
        )
        .order_by((acknowledged * 1.0 / total).asc(), AckCampaign.due_on, AckCampaign.id)
        .limit(ACK_LIMIT)
    ).all()
    return [AckFigure(*row) for row in rows]


def pending_approvals_by_age(now: datetime | None = None) -> ApprovalFigure:
    now = now or utcnow()
    # The first bucket whose upper bound the request is younger than (CASE tries in order).
    bucket = sa.case(
        *(
            (ApprovalRequest.created_at > now - upper, key)
            for key, _, upper in AGE_BUCKETS
            if upper is not None
        ),
        else_=AGE_BUCKETS[-1][0],
    )
    overdue = sa.func.sum(sa.case((ApprovalRequest.due_at < now, 1), else_=0))
    rows = db.session.execute(
        sa.select(bucket.label("bucket"), sa.func.count(), overdue)
        .where(ApprovalRequest.status == "pending")
        .group_by("bucket")
    ).all()
    counts = {key: count for key, count, _ in rows}
    return ApprovalFigure(
        total=sum(counts.values()),
        overdue=sum(int(late or 0) for _, _, late in rows),
        buckets=[(key, label, counts.get(key, 0)) for key, label, _ in AGE_BUCKETS],
    )


def active_exceptions(today: date | None = None) -> ExceptionFigure:
    active = PolicyException.status == "active"
    count = db.session.scalar(sa.select(sa.func.count()).select_from(PolicyException).where(active))
    rows = db.session.execute(
        sa.select(
            PolicyException.id,
            Policy.id,
            Policy.title,
            PolicyException.scope,
            PolicyException.expires_on,
        )
        .join(Policy, Policy.id == PolicyException.policy_id)
        .where(active)
        .order_by(PolicyException.expires_on, PolicyException.id)
        .limit(LIST_LIMIT)
    ).all()
    return ExceptionFigure(count=count or 0, soonest=[row.tuple() for row in rows])


def build_dashboard() -> Dashboard:
    return Dashboard(
        by_status=policies_by_status(),
        due_soon=_review_figure("due30", Policy.next_review_on.asc()),
        overdue=_review_figure("overdue", Policy.review_overdue_since.asc()),
        acknowledgements=acknowledgement_completion(),
        approvals=pending_approvals_by_age(),
        exceptions=active_exceptions(),
    )
