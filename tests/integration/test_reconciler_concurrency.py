"""Every consumer runs the reconciler: two passes at the same moment over the same due work do
each piece of it once. PostgreSQL only: there the passes really overlap (SQLite lets one writer
in at a time, and production runs several consumers on PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from governance.approvals.models import ApprovalRequest
from governance.engine import reconciler
from governance.engine.models import Execution, StepAttempt, StepRun, Workflow
from governance.engine.run import claim_step
from governance.policies import service as policies
from governance.tasks.models import Task
from governance.timeutil import utcnow
from tests import factories
from tests.factories import make_workflow, run_queued_steps, step

DIED = 4  # steps whose consumer died holding them: one per policy created


def _due_work(db, users) -> list[int]:
    """A due schedule, steps with expired leases and an overdue approval, all at once."""
    admin, owner = users["admin"], users["owner"]
    make_workflow(
        admin,
        trigger={"type": "schedule", "cron": "0 9 * * 1"},
        stages=[[step("weekly", "create_task", {"title": "Weekly", "assignee": str(owner.id)})]],
    )
    make_workflow(
        admin,
        trigger={"type": "policy.created"},
        stages=[[step("todo", "create_task", {"title": "Read", "assignee": "owner"})]],
    )
    make_workflow(
        admin,
        trigger={"type": "policy.status_changed", "to_status": "in_review"},
        stages=[
            [
                step(
                    "review",
                    "approval",
                    {
                        "groups": [users["approver"].groups[0].id],
                        "due_hours": 1,
                        "escalate_user_id": users["security"].id,
                        "escalate_adds_approvers": True,
                    },
                )
            ]
        ],
    )
    for _ in range(DIED - 1):
        factories.make_policy(owner)
    submitted = factories.make_policy(owner)  # created too: its "todo" step is the DIED-th
    died = db.session.scalars(sa.select(StepRun.id).where(StepRun.step_key == "todo")).all()
    for step_run_id in died:  # consumers claim the steps, then die before finishing them
        assert claim_step(step_run_id, lease_seconds=60) is not None
    policies.transition_policy(submitted.id, "in_review", actor=owner)
    run_queued_steps()  # the approval step parks, waiting for Legal
    past = utcnow() - timedelta(minutes=1)
    db.session.execute(sa.update(StepRun).where(StepRun.id.in_(died)).values(lease_until=past))
    db.session.execute(sa.update(Workflow).where(Workflow.trigger_type == "schedule").values(
        next_run_at=past
    ))  # fmt: skip
    db.session.execute(sa.update(ApprovalRequest).values(due_at=past))
    db.session.commit()
    return died


def _reconcile_at_once(app, passes: int) -> list[dict[str, int]]:
    """`passes` reconcilers started together, each in its own app context and session."""
    start = threading.Barrier(passes)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def one_pass() -> None:
        with app.app_context():
            start.wait()
            try:
                results.append(reconciler.reconcile())
            except BaseException as error:  # reported below, in the test's thread
                errors.append(error)

    threads = [threading.Thread(target=one_pass) for _ in range(passes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_reconcilers_running_at_once_do_each_piece_of_due_work_once(app, db, users):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent reconcilers are a PostgreSQL matter (DATABASE_URL=postgresql...)")
    died = _due_work(db, users)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Execution))

    totals = Counter()
    for _ in range(3):  # and again: nothing is left for a later pass either
        for counts in _reconcile_at_once(app, passes=3):
            totals.update(counts)

    assert totals["schedules_fired"] == 1
    assert totals["lease_expired"] == DIED
    assert totals["approvals_escalated"] == 1
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Execution)) == before + 1
    lost = db.session.scalars(
        sa.select(StepAttempt.step_run_id).where(StepAttempt.outcome == "lost")
    ).all()
    assert sorted(lost) == sorted(set(lost)) and len(lost) == DIED
    escalated = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ApprovalRequest)
        .where(ApprovalRequest.assignee_user_id == users["security"].id)
    )
    assert escalated == 1
    # The steps taken back run once more, each once: one task per step, none twice.
    db.session.execute(
        sa.update(StepRun).where(StepRun.status == "queued").values(next_attempt_at=None)
    )
    db.session.commit()
    run_queued_steps()
    db.session.expire_all()
    statuses = Counter(db.session.scalars(sa.select(StepRun.status)))
    assert statuses["running"] == 0 and statuses["queued"] == 0
    tasks = db.session.scalars(sa.select(Task.step_run_id).where(Task.step_run_id.in_(died))).all()
    assert sorted(tasks) == sorted(died)
