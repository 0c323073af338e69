"""`flask seed-bulk` on the test database: every table at its scale, a chain that verifies,
sequences that continue, and the bulk-approver's inbox full of pending requests."""

from __future__ import annotations

import sqlalchemy as sa

from devdata.bulk import seed
from governance.approvals.models import ApprovalRequest
from governance.audit.models import AuditEvent
from governance.audit.verify import verify_chain
from governance.auth.models import User
from governance.engine.models import Execution, StepRun, Workflow
from governance.policies import service as policies
from governance.policies.models import Policy, PolicyRevision
from governance.policies.versions import content_hash
from governance.queues import housekeeping
from governance.queues.models import JobCounter, JobRecord
from governance.timeutil import utcnow
from tests import factories
from tests.factories import count_rows

POLICIES = 200


def test_seed_bulk_fills_every_table_to_scale_and_the_app_works_on_it(app, db, client):
    result = app.test_cli_runner().invoke(args=["seed-bulk", "--policies", str(POLICIES)])
    assert result.exit_code == 0, result.output
    scale = seed.Scale(POLICIES)

    assert count_rows(db, Policy) == POLICIES
    assert count_rows(db, PolicyRevision) == 3 * POLICIES
    assert count_rows(db, Workflow, Workflow.status == "active") == 20
    assert count_rows(db, Execution) == 2 * POLICIES
    assert count_rows(db, StepRun) == 10 * POLICIES
    assert count_rows(db, ApprovalRequest) == POLICIES // 2
    assert count_rows(db, JobRecord) == 10 * POLICIES
    # The queue pages' counters agree with the records, and housekeeping keeps both.
    completed = db.session.scalar(sa.select(sa.func.sum(JobCounter.succeeded)))
    assert completed == count_rows(db, JobRecord, JobRecord.status == "complete")
    removed = housekeeping.prune(utcnow())
    assert removed["job_records"] == removed["job_counters"] == 0
    # The bulk events, after those the workflow service wrote for the 20 workflows.
    assert count_rows(db, AuditEvent) >= 5 * POLICIES
    assert verify_chain().is_intact

    approver = db.session.scalar(sa.select(User).where(User.email == seed.APPROVER_EMAIL))
    pending = ApprovalRequest.status == "pending"
    assert count_rows(db, ApprovalRequest, pending) == scale.pending_requests == 20
    assert count_rows(db, ApprovalRequest, pending, ApprovalRequest.assignee_user_id == approver.id)
    # Each pending request parks its execution and its approval step.
    waiting = db.session.execute(
        sa.select(Execution.status, StepRun.status, StepRun.step_type)
        .select_from(ApprovalRequest)
        .join(StepRun, StepRun.id == ApprovalRequest.step_run_id)
        .join(Execution, Execution.id == ApprovalRequest.execution_id)
        .where(pending)
    ).all()
    assert set(waiting) == {("waiting", "waiting", "approval")}

    # Published policies read their frozen version, whose hash is its content's.
    published = db.session.scalar(
        sa.select(Policy).where(Policy.status == "published").order_by(Policy.id).limit(1)
    )
    version = db.session.scalar(
        sa.select(PolicyRevision).where(
            PolicyRevision.policy_id == published.id,
            PolicyRevision.number == published.published_revision,
        )
    )
    assert version.version_label in ("1.0", "1.1")
    assert version.content_hash == content_hash(
        title=version.title, category=version.category, tags=version.tags, body=version.body
    )
    assert version.body == published.body

    # The logins the benchmark reads, one per account.
    logins = [line for line in result.output.splitlines() if line.startswith("login ")]
    assert len(logins) == 1 + 20 + 10 + 1
    assert f"login approver {seed.APPROVER_EMAIL} {seed.PASSWORD} {approver.id}" in logins

    # The sequences continue after the hand-numbered rows: the services still insert.
    owner = db.session.scalar(sa.select(User).where(User.email == "bulk-owner-1@example.org"))
    policy_id = policies.create_policy(
        policies.PolicyInput(
            title="Written after the bulk seed",
            body="Text.",
            category="Security",
            owner_id=owner.id,
        ),
        actor=owner,
        max_body=10_000,
    )
    assert policy_id == POLICIES + 1
    assert verify_chain().is_intact

    assert client.login(seed.APPROVER_EMAIL, seed.PASSWORD).status_code == 302
    inbox = client.get("/approvals")
    assert inbox.status_code == 200
    waiting_title = db.session.scalar(
        sa.select(Policy.title)
        .join(Execution, Execution.policy_id == Policy.id)
        .where(Execution.status == "waiting")
        .limit(1)
    )
    assert waiting_title in inbox.get_data(as_text=True)


def test_seed_bulk_refuses_a_database_that_holds_policies(app, db):
    owner = factories.make_user("owner")
    factories.make_policy(owner)

    result = app.test_cli_runner().invoke(args=["seed-bulk", "--policies", "10"])

    assert result.exit_code == 1
    assert "already holds policies" in result.output
    assert count_rows(db, Policy) == 1
    assert count_rows(db, User, User.email == seed.ADMIN_EMAIL) == 0
