"""The execution model against a real database: triggers, stages, claims, retries, leases,
approvals, waits, schedules, cancel and retry. Steps run through the real task function
(`run_step.call_local`), exactly as a consumer runs them; only the transport is left out."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from huey.exceptions import RetryTask

from governance.approvals import service as approvals
from governance.approvals.models import ApprovalRequest
from governance.engine import operate, reconciler
from governance.engine.jobs import run_step
from governance.engine.models import Execution, StepAttempt, StepRun, Workflow
from governance.engine.run import claim_step, run_claimed_step
from governance.errors import Conflict, NotAllowed
from governance.extensions import huey
from governance.notifications.models import Notification
from governance.policies import service as policies
from governance.policies.models import Policy
from governance.tasks.models import Task
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work
from tests import factories
from tests.factories import approval_requests, count_rows, make_workflow, run_queued_steps, step

SUBMITTED = {"type": "policy.status_changed", "to_status": "in_review"}
FAST_RETRY = {"attempts": 3, "backoff": "fixed", "base_seconds": 0}


def _execution(db) -> Execution:
    db.session.expire_all()
    return db.session.scalars(sa.select(Execution).order_by(Execution.id.desc())).first()


def _submit(policy, owner) -> None:
    policies.transition_policy(policy.id, "in_review", actor=owner)


def test_status_change_runs_a_two_stage_workflow_with_parallel_steps(db, users):
    owner, admin = users["owner"], users["admin"]
    make_workflow(
        admin,
        trigger=SUBMITTED,
        stages=[
            [
                step(
                    "tell_owner",
                    "notify",
                    {"to_owner": True, "subject": "{{ policy.title }} submitted"},
                ),
                step(
                    "todo",
                    "create_task",
                    {"title": "Check {{ policy.title }}", "assignee": "owner"},
                ),
            ],
            [step("approve", "set_status", {"status": "approved"})],
        ],
    )
    policy = factories.make_policy(owner, title="Travel")
    _submit(policy, owner)

    # The execution and its first stage were committed with the status change, nothing ran yet.
    execution = _execution(db)
    assert execution.status == "running"
    assert [(run.step_key, run.status) for run in execution.step_runs] == [
        ("tell_owner", "queued"),
        ("todo", "queued"),
        ("approve", "pending"),
    ]
    assert execution.actor_id == owner.id
    assert execution.trigger_data["new_status"] == "in_review"

    assert run_queued_steps() == 3
    execution = _execution(db)
    assert execution.status == "succeeded"
    assert [run.status for run in execution.step_runs] == ["succeeded"] * 3
    assert db.session.get(Policy, policy.id).status == "approved"
    notes = db.session.scalars(sa.select(Notification)).all()
    assert [(n.user_id, n.subject) for n in notes] == [(owner.id, "Travel submitted")]
    assert db.session.scalar(sa.select(Task.title)) == "Check Travel"
    assert execution.step_runs[0].output["recipients"] == [owner.id]


def test_a_workflow_does_not_trigger_itself_through_its_own_status_change(db, users):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.status_changed"},
        stages=[[step("bounce", "set_status", {"status": "approved"})]],
        conditions=[{"field": "trigger.new_status", "op": "equals", "value": "in_review"}],
    )
    policy = factories.make_policy(users["owner"])
    _submit(policy, users["owner"])
    run_queued_steps()
    assert count_rows(db, Execution) == 1
    assert db.session.get(Policy, policy.id).status == "approved"


def test_conditions_decide_whether_a_workflow_starts(db, users):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        conditions=[{"field": "policy.category", "op": "equals", "value": "Privacy"}],
        stages=[[step("note", "notify", {"to_owner": True, "subject": "New"})]],
    )
    factories.make_policy(users["owner"], category="Security")
    assert count_rows(db, Execution) == 0
    factories.make_policy(users["owner"], category="privacy")
    assert count_rows(db, Execution) == 1


def test_a_group_of_conditions_lets_any_one_of_them_start_the_workflow(db, users):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        conditions=[
            {"field": "policy.status", "op": "equals", "value": "draft"},
            {
                "match": "any",
                "conditions": [
                    {"field": "policy.category", "op": "equals", "value": "Security"},
                    {"field": "policy.tags", "op": "contains", "value": "pci"},
                ],
            },
        ],
        stages=[[step("note", "notify", {"to_owner": True, "subject": "New"})]],
    )
    factories.make_policy(users["owner"], category="HR", tags="gdpr")
    assert count_rows(db, Execution) == 0
    factories.make_policy(users["owner"], category="HR", tags="pci, gdpr")
    factories.make_policy(users["owner"], category="Security")
    assert count_rows(db, Execution) == 2


def test_inactive_workflows_never_start(db, users):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("note", "notify", {"to_owner": True, "subject": "New"})]],
        activate=False,
    )
    factories.make_policy(users["owner"])
    assert count_rows(db, Execution) == 0


def test_a_duplicate_message_finds_nothing_to_claim_and_effects_happen_once(db, users):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("todo", "create_task", {"title": "Read it", "assignee": "owner"})]],
    )
    factories.make_policy(users["owner"])
    step_run_id = db.session.scalar(sa.select(StepRun.id))
    assert run_step.call_local(step_run_id) == "succeeded"
    assert run_step.call_local(step_run_id) == "not-claimed"
    assert count_rows(db, Task) == 1


def test_a_step_whose_consumer_died_is_taken_back_and_run_again_once(db, users):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[
            [step("todo", "create_task", {"title": "Read", "assignee": "owner"}, retry=FAST_RETRY)]
        ],
    )
    factories.make_policy(users["owner"])
    step_run_id = db.session.scalar(sa.select(StepRun.id))
    # A consumer claims the step and dies before running it: the lease runs out.
    assert claim_step(step_run_id, lease_seconds=60) is not None
    db.session.execute(
        sa.update(StepRun)
        .where(StepRun.id == step_run_id)
        .values(lease_until=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    counts = reconciler.reconcile()
    assert counts["lease_expired"] == 1
    assert reconciler.reconcile()["lease_expired"] == 0  # twice: nothing happens twice
    run_queued_steps()
    run = db.session.get(StepRun, step_run_id)
    assert (run.status, run.attempt) == ("succeeded", 2)
    assert [a.outcome for a in run.attempts] == ["lost", "succeeded"]
    assert count_rows(db, Task) == 1


def test_a_late_finisher_after_its_lease_was_taken_back_changes_nothing(db, users):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[
            [step("todo", "create_task", {"title": "Read", "assignee": "owner"}, retry=FAST_RETRY)]
        ],
    )
    factories.make_policy(users["owner"])
    step_run_id = db.session.scalar(sa.select(StepRun.id))
    slow = claim_step(step_run_id, lease_seconds=60)
    db.session.execute(
        sa.update(StepRun)
        .where(StepRun.id == step_run_id)
        .values(lease_until=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    reconciler.reconcile()
    run_queued_steps()  # the step is re-run by another consumer and succeeds
    # The first consumer wakes up and tries to finish: its attempt is no longer the current one.
    slow.attempt = 1
    assert run_claimed_step(slow) == "lost-lease"
    assert count_rows(db, Task) == 1


# For a policy without tags this subject raises ZeroDivisionError on every attempt; tagging
# the policy fixes it.
PER_TAG = {"to_owner": True, "subject": "{{ 100 // policy.tags | length }}% per tag"}


def test_a_failing_step_retries_then_fails_the_execution_visibly(app, db, users):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[
            [
                step("first", "create_task", {"title": "Done once", "assignee": "owner"}),
                step("mail", "notify", PER_TAG, retry=FAST_RETRY),
            ]
        ],
    )
    factories.make_policy(users["owner"], tags="")
    run_queued_steps()
    execution = _execution(db)
    run = next(r for r in execution.step_runs if r.step_key == "mail")
    assert (run.status, run.attempt) == ("failed", 3)
    assert [a.outcome for a in run.attempts] == ["retry", "retry", "failed"]
    assert all("ZeroDivisionError" in a.error for a in run.attempts)
    assert "Traceback" in run.attempts[-1].traceback
    assert execution.status == "failed"
    assert "mail" in execution.error
    # The in-app notifications of the failed attempts were rolled back with them.
    assert count_rows(db, Notification) == 0


def test_retry_delays_grow_with_exponential_backoff(app, db, users):
    retry = {"attempts": 5, "backoff": "exponential", "base_seconds": 100}
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("mail", "notify", PER_TAG, retry=retry)]],
    )
    factories.make_policy(users["owner"], tags="")
    step_run_id = db.session.scalar(sa.select(StepRun.id))
    ceilings = []
    for attempt in range(1, 4):
        before = utcnow()
        with pytest.raises(RetryTask) as retry:
            run_step.call_local(step_run_id)
        run = db.session.get(StepRun, step_run_id)
        db.session.refresh(run)
        # Huey is asked to send this same task again when the back-off ends.
        assert retry.value.eta == run.next_attempt_at
        delay = (run.next_attempt_at - before).total_seconds()
        ceilings.append(100 * 2 ** (attempt - 1))
        assert 0 <= delay <= ceilings[-1] + 1
        # The step is not due yet: a message now finds nothing to claim.
        assert run_step.call_local(step_run_id) == "not-claimed"
        run.next_attempt_at = utcnow()
        db.session.commit()
    assert ceilings == [100, 200, 400]


def test_permanent_failure_does_not_retry(db, users):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("publish", "set_status", {"status": "published"})]],
    )
    factories.make_policy(users["owner"])
    run_queued_steps()
    run = _execution(db).step_runs[0]
    assert (run.status, run.attempt) == ("failed", 1)
    assert "cannot become published" in run.error


def _approval_workflow(users, **config):
    legal = users["approver"].groups[0]
    settings = {"users": [users["security"].id], "groups": [legal.id], "rule": "all"} | config
    return make_workflow(
        users["admin"],
        trigger=SUBMITTED,
        stages=[
            [step("review", "approval", settings)],
            [step("approve", "set_status", {"status": "approved"})],
        ],
    )


def test_approval_parks_the_execution_until_everyone_has_approved(db, users):
    _approval_workflow(users)
    policy = factories.make_policy(users["owner"])
    _submit(policy, users["owner"])
    run_queued_steps()
    assert _execution(db).status == "waiting"
    by_user, by_group = approval_requests(db)
    assert (
        approvals.record_decision(by_user.id, user=users["security"], decision="approved")
        == "waiting"
    )
    assert _execution(db).status == "waiting"
    assert (
        approvals.record_decision(by_group.id, user=users["approver"], decision="approved")
        == "approved"
    )
    run_queued_steps()
    assert _execution(db).status == "succeeded"
    assert db.session.get(Policy, policy.id).status == "approved"


def test_any_rule_needs_one_approval_and_withdraws_the_other_requests(db, users):
    _approval_workflow(users, rule="any")
    policy = factories.make_policy(users["owner"])
    _submit(policy, users["owner"])
    run_queued_steps()
    first, second = approval_requests(db)
    approvals.record_decision(second.id, user=users["approver"], decision="approved")
    assert [r.status for r in approval_requests(db)] == ["cancelled", "approved"]
    with pytest.raises(Conflict):
        approvals.record_decision(first.id, user=users["security"], decision="approved")


def test_a_rejection_ends_the_execution_as_rejected(db, users):
    _approval_workflow(users)
    policy = factories.make_policy(users["owner"])
    _submit(policy, users["owner"])
    run_queued_steps()
    request = approval_requests(db)[0]
    approvals.record_decision(request.id, user=users["security"], decision="rejected", comment="No")
    execution = _execution(db)
    assert execution.status == "rejected"
    assert [run.status for run in execution.step_runs] == ["failed", "cancelled"]
    assert [r.status for r in approval_requests(db)] == ["rejected", "cancelled"]
    assert db.session.get(Policy, policy.id).status == "in_review"


def test_the_submitter_can_never_decide_even_in_the_assigned_group(db, users):
    legal = users["approver"].groups[0]
    submitter = factories.make_user("owner", "approver", groups=[legal])
    make_workflow(
        users["admin"],
        trigger=SUBMITTED,
        stages=[[step("review", "approval", {"groups": [legal.id]})]],
    )
    policy = factories.make_policy(submitter)
    _submit(policy, submitter)
    run_queued_steps()
    request = approval_requests(db)[0]
    assert not approvals.can_decide(submitter, request)
    with pytest.raises(NotAllowed, match="four-eyes"):
        approvals.record_decision(request.id, user=submitter, decision="approved")
    assert approval_requests(db)[0].status == "pending"


def test_two_approvers_deciding_at_once_count_once(app, db, users):
    legal = users["approver"].groups[0]
    second = factories.make_user("approver", groups=[legal])
    make_workflow(
        users["admin"],
        trigger=SUBMITTED,
        stages=[[step("review", "approval", {"groups": [legal.id], "rule": "any"})]],
    )
    policy = factories.make_policy(users["owner"])
    _submit(policy, users["owner"])
    run_queued_steps()
    request_id = approval_requests(db)[0].id
    results: list[str] = []
    barrier = threading.Barrier(2)

    def decide(user_id: int) -> None:
        with app.app_context():
            from governance.auth.models import User
            from governance.extensions import db as thread_db

            user = thread_db.session.get(User, user_id)
            barrier.wait()
            try:
                approvals.record_decision(request_id, user=user, decision="approved")
                results.append("ok")
            except Conflict:
                results.append("already decided")
            except Exception as error:  # SQLite may refuse the second writer outright
                thread_db.session.rollback()
                results.append(type(error).__name__)

    threads = [
        threading.Thread(target=decide, args=(uid,)) for uid in (users["approver"].id, second.id)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("ok") == 1
    assert count_rows(db, ApprovalRequest, ApprovalRequest.status == "approved") == 1


def test_a_wait_step_resumes_when_its_time_comes(db, users):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[
            [step("pause", "wait", {"minutes": 5})],
            [step("todo", "create_task", {"title": "After", "assignee": "owner"})],
        ],
    )
    factories.make_policy(users["owner"])
    run_queued_steps()
    assert _execution(db).status == "waiting"
    assert reconciler.reconcile()["waits_due"] == 0
    # Five minutes pass.
    past = utcnow() - timedelta(seconds=1)
    db.session.execute(
        sa.update(StepRun)
        .where(StepRun.step_key == "pause")
        .values(next_attempt_at=past, output={"resume_at": past.isoformat()})
    )
    db.session.commit()
    assert reconciler.reconcile()["waits_due"] == 1
    run_queued_steps()
    assert _execution(db).status == "succeeded"
    assert count_rows(db, Task) == 1


def test_cancelling_withdraws_pending_approvals(db, users):
    _approval_workflow(users)
    policy = factories.make_policy(users["owner"])
    _submit(policy, users["owner"])
    run_queued_steps()
    execution = _execution(db)
    with unit_of_work():
        operate.cancel_execution(execution.id, actor_id=users["admin"].id)
    assert _execution(db).status == "cancelled"
    assert {r.status for r in approval_requests(db)} == {"cancelled"}
    with pytest.raises(Conflict):
        approvals.record_decision(
            approval_requests(db)[0].id, user=users["security"], decision="approved"
        )


def test_a_failed_execution_is_retried_from_its_failed_step(app, db, users):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[
            [step("todo", "create_task", {"title": "First", "assignee": "owner"})],
            [
                step(
                    "mail",
                    "notify",
                    PER_TAG,
                    retry={"attempts": 1, "backoff": "fixed", "base_seconds": 0},
                )
            ],
        ],
    )
    policy = factories.make_policy(users["owner"], tags="")
    run_queued_steps()
    execution = _execution(db)
    assert execution.status == "failed"
    factories.edit_policy(policy.id, users["owner"], tags="privacy")
    with unit_of_work():
        operate.retry_execution(execution.id, actor_id=users["admin"].id)
    run_queued_steps()
    execution = _execution(db)
    assert execution.status == "succeeded"
    assert count_rows(db, Task) == 1  # the first stage did not run again
    assert count_rows(db, Notification) == 1


def test_a_due_schedule_starts_one_execution_however_often_reconciled(db, users):
    workflow = make_workflow(
        users["admin"],
        trigger={"type": "schedule", "cron": "0 9 * * 1"},
        stages=[
            [
                step(
                    "todo",
                    "create_task",
                    {"title": "Weekly review", "assignee": str(users["owner"].id)},
                )
            ]
        ],
    )
    assert workflow.next_run_at > utcnow()
    db.session.execute(sa.update(Workflow).values(next_run_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert reconciler.reconcile()["schedules_fired"] == 1
    assert reconciler.reconcile()["schedules_fired"] == 0
    run_queued_steps()
    assert _execution(db).status == "succeeded"
    assert db.session.get(Workflow, workflow.id).next_run_at > utcnow()


def test_a_queued_step_whose_message_was_lost_is_sent_again(app, db, users):
    make_workflow(
        users["admin"],
        trigger={"type": "policy.created"},
        stages=[[step("todo", "create_task", {"title": "Read", "assignee": "owner"})]],
    )
    factories.make_policy(users["owner"])
    assert reconciler.reconcile()["stale_queued"] == 0  # fresh: Huey still has it
    db.session.execute(sa.update(StepRun).values(queued_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    # Still waiting in a busy queue: not lost, so not sent again.
    assert reconciler.reconcile()["stale_queued"] == 0
    huey.flush()  # the message is lost (a consumer popped it and died, or Redis restarted)
    assert reconciler.reconcile()["stale_queued"] == 1
    assert reconciler.reconcile()["stale_queued"] == 0  # sent once: fresh again
    attempts = count_rows(db, StepAttempt)
    assert attempts == 0


def test_overdue_approvals_are_escalated_once(db, users):
    legal = users["approver"].groups[0]
    make_workflow(
        users["admin"],
        trigger=SUBMITTED,
        stages=[
            [
                step(
                    "review",
                    "approval",
                    {
                        "groups": [legal.id],
                        "due_hours": 1,
                        "escalate_user_id": users["security"].id,
                        "escalate_adds_approvers": True,
                    },
                )
            ]
        ],
    )
    policy = factories.make_policy(users["owner"])
    _submit(policy, users["owner"])
    run_queued_steps()
    assert reconciler.reconcile()["approvals_escalated"] == 0
    db.session.execute(sa.update(ApprovalRequest).values(due_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert reconciler.reconcile()["approvals_escalated"] == 1
    assert reconciler.reconcile()["approvals_escalated"] == 0
    requests = approval_requests(db)
    assert [(r.assignee_group_id, r.assignee_user_id) for r in requests] == [
        (legal.id, None),
        (None, users["security"].id),
    ]
    assert all(r.escalated_at is not None for r in requests)
    # The escalation target may decide, and that settles the step.
    approvals.record_decision(requests[1].id, user=users["security"], decision="approved")
    assert _execution(db).status == "succeeded"
