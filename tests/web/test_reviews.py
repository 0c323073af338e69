"""Review cadence: the scheduler's reminders and overdue flag, "Mark reviewed", publication as a
review, and the cadence on the policy form, through the real database and HTTP."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from governance.audit.models import AuditEvent
from governance.engine.models import Execution
from governance.notifications.models import Notification
from governance.policies import service as policies
from governance.policies.cadence import add_months, first_date_after
from governance.policies.models import Policy, PolicyReview
from governance.reviews import service as reviews
from governance.timeutil import utcnow
from tests import factories


def _published(users, *, next_review_on: date, frequency: str = "monthly", **fields) -> Policy:
    return factories.make_policy(
        users["owner"],
        status="published",
        admin=users["admin"],
        review_frequency=frequency,
        next_review_on=next_review_on,
        **fields,
    )


def _fresh(db, policy_id: int) -> Policy:
    db.session.expire_all()
    return db.session.get(Policy, policy_id)


def _notifications(db, user) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Notification.subject)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id)
        )
    )


def _actions(db, action: str) -> list[int]:
    return list(
        db.session.scalars(sa.select(AuditEvent.object_id).where(AuditEvent.action == action))
    )


# ------------------------------------------------------------------ the scheduler


def test_each_reminder_is_sent_once_even_when_the_scheduler_runs_twice(users, db):
    due = date(2027, 3, 31)
    policy = _published(users, next_review_on=due, title="Access control")
    for today, threshold in ((due - timedelta(days=30), 30), (due - timedelta(days=7), 7)):
        assert reviews.run_review_schedule(today).reminded == [(policy.id, threshold)]
        assert reviews.run_review_schedule(today).reminded == []
    # Days between thresholds send nothing new.
    assert reviews.run_review_schedule(due - timedelta(days=3)).reminded == []
    assert reviews.run_review_schedule(due - timedelta(days=1)).reminded == [(policy.id, 1)]
    assert reviews.run_review_schedule(due - timedelta(days=1)).reminded == []
    assert reviews.run_review_schedule(due).reminded == []
    assert _notifications(db, users["owner"]) == [
        "Review due in 30 days or less: Access control",
        "Review due in 7 days or less: Access control",
        "Review due tomorrow: Access control",
    ]
    assert _fresh(db, policy.id).review_reminder_level == 1


def test_a_scheduler_that_missed_days_sends_only_the_nearest_reminder(users, db):
    due = date(2027, 3, 31)
    policy = _published(users, next_review_on=due, title="Backups")
    # First run only 5 days before: the 30-day reminder is skipped, the 7-day one goes.
    assert reviews.run_review_schedule(due - timedelta(days=5)).reminded == [(policy.id, 7)]
    assert reviews.run_review_schedule(due - timedelta(days=5)).reminded == []
    assert reviews.run_review_schedule(due).reminded == [(policy.id, 1)]
    assert len(_notifications(db, users["owner"])) == 2


def test_drafts_retired_and_uncadenced_policies_get_no_reminders(users, db):
    due = utcnow().date() + timedelta(days=5)
    factories.make_policy(users["owner"], review_frequency="monthly", next_review_on=due)
    _published(users, next_review_on=due)
    retired = factories.make_policy(
        users["owner"], status="retired", admin=users["admin"], review_frequency="monthly"
    )
    policies_without = factories.make_policy(
        users["owner"], status="published", admin=users["admin"]
    )
    run = reviews.run_review_schedule(utcnow().date())
    assert len(run.reminded) == 1
    assert retired.id not in [policy_id for policy_id, _ in run.reminded]
    assert policies_without.id not in [policy_id for policy_id, _ in run.reminded]


def test_overdue_flip_flags_audits_and_fires_policy_review_due_once(users, db):
    workflow = factories.make_workflow(
        users["admin"],
        trigger={"type": "policy.review_due"},
        stages=[
            [factories.step("review", "approval", {"rule": "any", "users": [users["approver"].id]})]
        ],
        name="Route overdue reviews",
    )
    due = date(2027, 1, 31)
    policy = _published(users, next_review_on=due, title="Data retention")
    today = due + timedelta(days=1)

    run = reviews.run_review_schedule(today)
    assert run.overdue == [policy.id]
    assert len(run.executions) == 1
    again = reviews.run_review_schedule(today + timedelta(days=1))
    assert (again.overdue, again.executions) == ([], [])

    fresh = _fresh(db, policy.id)
    assert (fresh.status, fresh.review_overdue_since) == ("published", today)
    execution = db.session.get(Execution, run.executions[0])
    assert (execution.workflow_id, execution.trigger_type) == (workflow.id, "policy.review_due")
    assert execution.policy_id == policy.id
    assert execution.trigger_data["due_on"] == due.isoformat()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Execution)) == 1
    assert _actions(db, "policy.review_overdue") == [policy.id]
    assert _notifications(db, users["owner"])[-1] == "Review overdue: Data retention"


def test_overdue_policy_shows_the_badge_and_the_list_filter(as_role, users, db):
    overdue = _published(users, next_review_on=utcnow().date() - timedelta(days=3), title="Late")
    _published(users, next_review_on=utcnow().date() + timedelta(days=10), title="Soon")
    _published(users, next_review_on=utcnow().date() + timedelta(days=90), title="Later")
    reviews.run_review_schedule()
    client = as_role("viewer")
    page = client.get(f"/policies/{overdue.id}").get_data(as_text=True)
    assert "Review overdue" in page and "Published" in page
    listing = client.get("/policies?review=overdue").get_data(as_text=True)
    assert "Late" in listing and "Soon" not in listing and "Review overdue" in listing
    due30 = client.get("/policies?review=due30").get_data(as_text=True)
    assert "Soon" in due30 and "Late" not in due30 and "Later" not in due30


def test_workflow_designer_offers_the_review_due_trigger(as_role, db):
    page = as_role("admin").get("/workflows/new").get_data(as_text=True)
    assert 'value="policy.review_due"' in page and "Policy review due" in page


# ------------------------------------------------------------------ mark reviewed


def test_mark_reviewed_keeps_the_schedule_of_the_intended_date(users, db):
    policy = _published(users, next_review_on=date(2027, 1, 31))
    assert policies.get_policy(policy.id).review_anchor_on == date(2027, 1, 31)
    # The review due 31 March, done late on 12 April: next is 30 April, not 12 May.
    policy.next_review_on = date(2027, 3, 31)
    db.session.commit()
    next_on = reviews.mark_reviewed(policy.id, actor=users["owner"], today=date(2027, 4, 12))
    assert next_on == date(2027, 4, 30)
    # Done early (a week before 30 April): moves to the one after, back on the 31st.
    next_on = reviews.mark_reviewed(policy.id, actor=users["owner"], today=date(2027, 4, 23))
    assert next_on == date(2027, 5, 31)
    rows = db.session.execute(
        sa.select(PolicyReview.due_on, PolicyReview.next_review_on, PolicyReview.outcome).order_by(
            PolicyReview.id
        )
    ).all()
    assert rows == [
        (date(2027, 3, 31), date(2027, 4, 30), "no_changes"),
        (date(2027, 4, 30), date(2027, 5, 31), "no_changes"),
    ]


def test_owner_marks_an_overdue_policy_reviewed_through_the_page(as_role, users, db):
    today = utcnow().date()
    anchor = today - timedelta(days=40)
    policy = _published(users, next_review_on=anchor, title="Travel")
    reviews.run_review_schedule()
    client = as_role("owner")
    page = client.get(f"/policies/{policy.id}").get_data(as_text=True)
    assert "Mark reviewed, no changes" in page and "Overdue since" in page

    response = client.submit(
        f"/policies/{policy.id}/reviews",
        {"note": "Still accurate after the 2027 travel rules.", "due_on": anchor.isoformat()},
        token_from=f"/policies/{policy.id}",
    )
    assert response.status_code == 303
    fresh = _fresh(db, policy.id)
    expected = first_date_after(anchor, "monthly", today)
    assert fresh.next_review_on == expected
    assert (fresh.review_overdue_since, fresh.review_reminder_level) == (None, None)
    assert fresh.review_anchor_on == anchor
    review = db.session.scalar(sa.select(PolicyReview))
    assert (review.reviewed_by_id, review.due_on, review.outcome) == (
        users["owner"].id,
        anchor,
        "no_changes",
    )
    assert review.note == "Still accurate after the 2027 travel rules."
    assert _actions(db, "policy.reviewed") == [policy.id]
    page = client.get(f"/policies/{policy.id}").get_data(as_text=True)
    assert "Reviewed, no changes" in page and "Still accurate" in page
    assert "Review overdue" not in page

    # The same form sent again (a double click) records nothing more.
    again = client.submit(
        f"/policies/{policy.id}/reviews",
        {"note": "", "due_on": anchor.isoformat()},
        token_from=f"/policies/{policy.id}",
        follow_redirects=True,
    )
    assert "This review was already recorded" in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PolicyReview)) == 1


@pytest.mark.parametrize(
    ("role", "status"), [("other_owner", 403), ("approver", 403), ("viewer", 403)]
)
def test_only_the_owner_or_an_admin_marks_reviewed(as_role, users, db, role, status):
    policy = _published(users, next_review_on=utcnow().date() + timedelta(days=3))
    response = as_role(role).submit(
        f"/policies/{policy.id}/reviews", {"note": ""}, token_from=f"/policies/{policy.id}"
    )
    assert response.status_code == status
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PolicyReview)) == 0


def test_admin_may_mark_reviewed_and_a_policy_without_cadence_is_refused(as_role, users, db):
    policy = _published(users, next_review_on=utcnow().date() + timedelta(days=3))
    plain = factories.make_policy(users["owner"], status="published", admin=users["admin"])
    client = as_role("admin")
    assert (
        client.submit(f"/policies/{policy.id}/reviews", {}, token_from="/policies").status_code
        == 303
    )
    refused = client.submit(
        f"/policies/{plain.id}/reviews", {}, token_from="/policies", follow_redirects=True
    )
    assert "Only a published policy with a review cadence" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(PolicyReview.policy_id)) == policy.id


def test_mark_reviewed_needs_the_csrf_token(as_role, users, db):
    policy = _published(users, next_review_on=utcnow().date() + timedelta(days=3))
    response = as_role("owner").post(f"/policies/{policy.id}/reviews", data={"note": "x"})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PolicyReview)) == 0


def test_a_too_long_note_is_refused_with_a_message(as_role, users, db):
    policy = _published(users, next_review_on=utcnow().date() + timedelta(days=3))
    response = as_role("owner").submit(
        f"/policies/{policy.id}/reviews",
        {"note": "x" * 1001},
        token_from=f"/policies/{policy.id}",
        follow_redirects=True,
    )
    assert "The note must be at most 1000 characters." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PolicyReview)) == 0


def test_publishing_a_new_version_counts_as_a_review(as_role, users, db):
    today = utcnow().date()
    policy = _published(users, next_review_on=today + timedelta(days=3))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PolicyReview)) == 0
    client = as_role("owner")
    page = client.get(f"/policies/{policy.id}").get_data(as_text=True)
    assert "Start revision" in page
    response = client.submit(
        f"/policies/{policy.id}/transition",
        {"target": "draft", "version": str(_fresh(db, policy.id).version)},
        token_from=f"/policies/{policy.id}",
    )
    assert response.status_code == 303
    assert _fresh(db, policy.id).status == "draft"
    factories.edit_policy(
        policy.id,
        users["owner"],
        body="# Purpose\n\nKeep things safer.\n",
        review_frequency="monthly",
        next_review_on=today + timedelta(days=3),
    )
    for target, actor in (("in_review", "owner"), ("approved", "admin"), ("published", "owner")):
        policies.transition_policy(policy.id, target, actor=users[actor])
    review = db.session.scalar(sa.select(PolicyReview))
    assert (review.outcome, review.due_on) == ("revised", today + timedelta(days=3))
    assert review.note == "Version 2.0 published"
    assert _fresh(db, policy.id).next_review_on == add_months(today + timedelta(days=3), 1)


# ------------------------------------------------------------------ the cadence on the form


def test_custom_cadence_from_the_form_and_an_unchanged_edit_keeps_the_anchor(as_role, users, db):
    client = as_role("owner")
    response = client.submit(
        "/policies/new",
        {
            "title": "Visitor policy",
            "category": "Facilities",
            "body": "Sign in at reception.",
            "review_frequency": "custom",
            "review_interval_days": "45",
            "next_review_on": "2027-01-31",
        },
    )
    assert response.status_code == 302
    policy = db.session.scalar(sa.select(Policy))
    assert (policy.review_frequency, policy.review_interval_days) == ("custom", 45)
    assert policy.review_anchor_on == policy.next_review_on == date(2027, 1, 31)
    page = client.get(f"/policies/{policy.id}").get_data(as_text=True)
    assert "Every 45 days" in page

    # The schedule moved on (a review); editing the text keeps the original anchor.
    policy.next_review_on = date(2027, 3, 17)
    db.session.commit()
    factories.edit_policy(
        policy.id,
        users["owner"],
        body="Sign in at reception, always.",
        review_frequency="custom",
        review_interval_days=45,
        next_review_on=date(2027, 3, 17),
    )
    assert _fresh(db, policy.id).review_anchor_on == date(2027, 1, 31)
    # A new date starts a new schedule.
    factories.edit_policy(
        policy.id,
        users["owner"],
        review_frequency="quarterly",
        next_review_on=date(2027, 5, 1),
    )
    fresh = _fresh(db, policy.id)
    assert (fresh.review_frequency, fresh.review_interval_days) == ("quarterly", None)
    assert fresh.review_anchor_on == date(2027, 5, 1)


def test_edit_form_shows_the_chosen_cadence(as_role, users, db):
    policy = factories.make_policy(
        users["owner"], review_frequency="quarterly", next_review_on=date(2027, 2, 28)
    )
    page = as_role("owner").get(f"/policies/{policy.id}/edit").get_data(as_text=True)
    assert '<option selected value="quarterly">' in page
    assert 'value="2027-02-28"' in page
