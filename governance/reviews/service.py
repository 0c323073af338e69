"""Policy reviews: recording one (by hand, or by publishing a new version), and the scheduler
that reminds owners before the date and flags a published policy whose review is overdue."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from governance.audit.service import record_event
from governance.auth.models import User
from governance.dbutil import rowcount
from governance.engine import start
from governance.errors import Conflict, DomainError, NotAllowed
from governance.extensions import db
from governance.lookup import get_or_raise
from governance.notifications.service import notify
from governance.policies import cadence
from governance.policies.events import PolicyVersionPublished
from governance.policies.lifecycle import RETIRED
from governance.policies.models import Policy, PolicyReview
from governance.policies.service import can_manage
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

# Days before the review date at which the owner is reminded, largest first.
REMINDER_DAYS = (30, 7, 1)
REVIEW_DUE_TRIGGER = "policy.review_due"
NO_CHANGES, REVISED = "no_changes", "revised"
OUTCOME_LABELS = {NO_CHANGES: "Reviewed, no changes", REVISED: "Revised (new version published)"}
MAX_NOTE = 1000


def is_live() -> sa.ColumnElement[bool]:
    """SQL for Policy.has_live_version: a published version readers see."""
    return sa.and_(Policy.published_revision.is_not(None), Policy.status != RETIRED)


def _today(today: date | None) -> date:
    return today or utcnow().date()


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class ReviewState:
    cadence: str
    next_review_on: date | None
    days_left: int | None
    overdue_since: date | None

    @property
    def is_overdue(self) -> bool:
        return self.overdue_since is not None or (self.days_left is not None and self.days_left < 0)

    @property
    def summary(self) -> str:
        if self.next_review_on is None:
            return "No review scheduled"
        if self.is_overdue:
            since = self.overdue_since or self.next_review_on
            return f"Overdue since {since.strftime('%d %b %Y')}"
        if self.days_left == 0:
            return "Due today"
        return f"Due in {self.days_left} day{'s' if self.days_left != 1 else ''}"


def review_state(policy: Policy, today: date | None = None) -> ReviewState:
    today = _today(today)
    days_left = (policy.next_review_on - today).days if policy.next_review_on else None
    return ReviewState(
        cadence=cadence.describe(policy.review_frequency, policy.review_interval_days),
        next_review_on=policy.next_review_on,
        days_left=days_left,
        overdue_since=policy.review_overdue_since if policy.has_live_version else None,
    )


def recent_reviews(policy_id: int, limit: int = 5) -> list[PolicyReview]:
    return list(
        db.session.scalars(
            sa.select(PolicyReview)
            .where(PolicyReview.policy_id == policy_id)
            .order_by(PolicyReview.reviewed_at.desc(), PolicyReview.id.desc())
            .limit(limit)
        )
    )


def can_mark_reviewed(user: User, policy: Policy) -> bool:
    """The owner (holding the owner role) or an admin, for a live version with a cadence."""
    return can_manage(user, policy) and has_cadence(policy) and policy.has_live_version


def has_cadence(policy: Policy) -> bool:
    return bool(policy.review_frequency and policy.next_review_on)


# ---------------------------------------------------------------- recording a review


def _next_date(policy: Policy, today: date) -> date:
    assert policy.review_frequency and policy.next_review_on  # callers check has_cadence
    return cadence.next_review_on(
        policy.review_anchor_on or policy.next_review_on,
        policy.review_frequency,
        due_on=policy.next_review_on,
        today=today,
        interval_days=policy.review_interval_days,
    )


def _record_review(
    policy: Policy,
    *,
    reviewer_id: int | None,
    actor_id: int | None,
    outcome: str,
    note: str,
    today: date,
) -> PolicyReview:
    """The only place a review is recorded: the review row, the next date, the audit event."""
    due_on = policy.next_review_on
    next_on = _next_date(policy, today)
    review = PolicyReview(
        policy_id=policy.id,
        reviewed_by_id=reviewer_id,
        due_on=due_on,
        next_review_on=next_on,
        outcome=outcome,
        note=note,
    )
    db.session.add(review)
    if policy.review_anchor_on is None:
        policy.review_anchor_on = due_on
    policy.next_review_on = next_on
    policy.review_overdue_since = None
    policy.review_reminder_level = None
    record_event(
        actor_id=actor_id,
        action="policy.reviewed",
        object_type="policy",
        object_id=policy.id,
        summary=f"“{policy.title}”: {OUTCOME_LABELS[outcome].lower()}; "
        f"next review {next_on.isoformat()}",
        changes={
            "next_review_on": {
                "before": due_on.isoformat() if due_on else None,
                "after": next_on.isoformat(),
            },
            "outcome": {"before": None, "after": outcome},
        }
        | ({"note": {"before": None, "after": note}} if note else {}),
    )
    return review


@unit_of_work()
def mark_reviewed(
    policy_id: int,
    *,
    actor: User,
    note: str = "",
    expected_due_on: date | None = None,
    today: date | None = None,
) -> date:
    """Record "reviewed, no changes" and move the review date along the schedule.

    `expected_due_on` is the date the reviewer saw: a second click (or someone else's review
    in between) finds the date moved and is refused instead of skipping a period.
    Returns the new review date.
    """
    policy = get_or_raise(Policy, policy_id, "No such policy.")
    if not can_mark_reviewed(actor, policy):
        if not can_manage(actor, policy):
            raise NotAllowed("Only the policy's owner or an admin can record a review.")
        raise DomainError(
            "Only a published policy with a review cadence can be marked as reviewed."
        )
    assert policy.next_review_on is not None  # can_mark_reviewed asks for a cadence
    if expected_due_on is not None and expected_due_on != policy.next_review_on:
        raise Conflict(
            "This review was already recorded: the review date has moved to "
            f"{policy.next_review_on.strftime('%d %b %Y')}."
        )
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise DomainError(f"The note must be at most {MAX_NOTE} characters.", field="note")
    _record_review(
        policy,
        reviewer_id=actor.id,
        actor_id=actor.id,
        outcome=NO_CHANGES,
        note=note,
        today=_today(today),
    )
    next_on = policy.next_review_on
    return next_on


def count_publication_as_review(event: PolicyVersionPublished) -> None:
    """A new published version is a review too ("revised"); the first version is not."""
    if event.previous_label is None:
        return
    policy = db.session.get(Policy, event.policy_id)
    if policy is None or not has_cadence(policy):
        return
    _record_review(
        policy,
        # Empty when a workflow published it: no person reviewed it then.
        reviewer_id=event.actor_id,
        actor_id=event.actor_id,
        outcome=REVISED,
        note=f"Version {event.version_label} published",
        today=utcnow().date(),
    )


# ---------------------------------------------------------------- the scheduler


@dataclass
class ScheduleRun:
    reminded: list[tuple[int, int]]  # (policy id, days before)
    overdue: list[int]
    executions: list[int]


def reminder_threshold(days_left: int) -> int | None:
    """The reminder due `days_left` days before the date: the smallest threshold reached."""
    if days_left < 0:
        return None
    reached = [days for days in REMINDER_DAYS if days_left <= days]
    return min(reached) if reached else None


def run_review_schedule(today: date | None = None) -> ScheduleRun:
    """Send due reminders and flag overdue reviews; safe to run any number of times.

    Each effect is guarded by a conditional UPDATE and committed with it, so a second run
    (or a concurrent one) finds nothing left to win and sends nothing twice.
    """
    today = _today(today)
    run = ScheduleRun(reminded=[], overdue=[], executions=[])
    upcoming = db.session.execute(
        sa.select(Policy.id, Policy.next_review_on).where(
            is_live(),
            Policy.next_review_on.between(today, today + timedelta(days=max(REMINDER_DAYS))),
            sa.or_(
                Policy.review_reminder_level.is_(None),
                Policy.review_reminder_level > min(REMINDER_DAYS),
            ),
        )
    ).all()
    for policy_id, due_on in upcoming:
        assert due_on is not None  # the query's BETWEEN left out policies without a date
        threshold = reminder_threshold((due_on - today).days)
        if threshold is not None and _remind(policy_id, due_on, threshold):
            run.reminded.append((policy_id, threshold))
    overdue = db.session.execute(
        sa.select(Policy.id, Policy.next_review_on).where(
            is_live(), Policy.next_review_on < today, Policy.review_overdue_since.is_(None)
        )
    ).all()
    for policy_id, due_on in overdue:
        assert due_on is not None  # the query's < left out policies without a date
        started = _flag_overdue(policy_id, due_on, today)
        if started is not None:
            run.overdue.append(policy_id)
            run.executions.extend(started)
    return run


@unit_of_work()
def _remind(policy_id: int, due_on: date, threshold: int) -> bool:
    won = rowcount(
        db.session.execute(
            sa.update(Policy)
            .where(
                Policy.id == policy_id,
                Policy.next_review_on == due_on,
                sa.or_(
                    Policy.review_reminder_level.is_(None), Policy.review_reminder_level > threshold
                ),
            )
            .values(review_reminder_level=threshold)
            .execution_options(synchronize_session=False)
        )
    )
    if won != 1:
        return False
    policy = db.session.get_one(Policy, policy_id)
    when = "tomorrow" if threshold == 1 else f"in {threshold} days or less"
    notify(
        [policy.owner_id],
        subject=f"Review due {when}: {policy.title}",
        body=f"“{policy.title}” is due for review on {due_on.strftime('%d %B %Y')}. "
        "Mark it reviewed if nothing needs to change, or start a revision.",
        link=f"/policies/{policy.id}",
        dedupe_key=f"policy-review-{policy.id}-{due_on.isoformat()}-{threshold}d",
    )
    return True


@unit_of_work()
def _flag_overdue(policy_id: int, due_on: date, today: date) -> list[int] | None:
    """Flag the policy overdue; the winner audits, notifies and fires policy.review_due."""
    won = rowcount(
        db.session.execute(
            sa.update(Policy)
            .where(
                Policy.id == policy_id,
                Policy.next_review_on == due_on,
                Policy.review_overdue_since.is_(None),
            )
            .values(review_overdue_since=today, review_reminder_level=0)
            .execution_options(synchronize_session=False)
        )
    )
    if won != 1:
        return None
    policy = db.session.get_one(Policy, policy_id)
    record_event(
        actor_id=None,
        action="policy.review_overdue",
        object_type="policy",
        object_id=policy.id,
        summary=f"“{policy.title}”: review due {due_on.isoformat()} is overdue",
        changes={"review_overdue_since": {"before": None, "after": today.isoformat()}},
    )
    notify(
        [policy.owner_id],
        subject=f"Review overdue: {policy.title}",
        body=f"The review of “{policy.title}” was due on {due_on.strftime('%d %B %Y')}. "
        "It stays published, marked “review overdue”, until it is reviewed.",
        link=f"/policies/{policy.id}",
        dedupe_key=f"policy-review-{policy.id}-{due_on.isoformat()}-overdue",
    )
    started = start.start_matching(
        REVIEW_DUE_TRIGGER,
        {"policy_id": policy.id, "due_on": due_on.isoformat(), "actor_id": None},
    )
    return started
