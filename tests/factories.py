"""Builders for test data: make_user, make_group, make_policy. Each writes through the real
services, except that users share one precomputed password hash (scrypt is slow on purpose)."""

from __future__ import annotations

import functools
import itertools

from governance.auth import service as accounts
from governance.auth.models import Group, User, UserRole
from governance.extensions import db
from governance.policies import lifecycle
from governance.policies import service as policies

PASSWORD = "correct horse battery"
_sequence = itertools.count(1)


@functools.cache
def _password_hash() -> str:
    return accounts.hash_password(PASSWORD)


def make_group(name: str | None = None) -> Group:
    group = Group(name=name or f"Group {next(_sequence)}")
    db.session.add(group)
    db.session.commit()
    return group


def make_user(
    *roles: str, email: str | None = None, name: str | None = None, groups=(), enabled=True
) -> User:
    number = next(_sequence)
    user = User(
        email=email or f"user{number}@example.test",
        name=name or f"User {number}",
        password_hash=_password_hash(),
        is_enabled=enabled,
    )
    user.role_rows = [UserRole(role=role) for role in (roles or ("viewer",))]
    user.groups = list(groups)
    db.session.add(user)
    db.session.commit()
    return user


def make_policy(owner: User, status: str = lifecycle.DRAFT, admin: User | None = None, **overrides):
    """A policy created by `owner` through the service, then moved along to `status`."""
    fields = {
        "title": f"Policy {next(_sequence)}",
        "body": "# Purpose\n\nKeep things safe.\n",
        "category": "Security",
        "owner_id": owner.id,
        "tags": "",
    } | overrides
    policy_id = policies.create_policy(
        policies.PolicyInput(**fields), actor=owner, max_body=200_000
    )
    path = [lifecycle.IN_REVIEW, lifecycle.APPROVED, lifecycle.PUBLISHED, lifecycle.RETIRED]
    for target in path[: path.index(status) + 1] if status != lifecycle.DRAFT else []:
        actor = admin if target == lifecycle.APPROVED else owner
        assert actor is not None, "pass admin= to approve"
        if target == lifecycle.APPROVED:
            _cancel_review_in_progress(policy_id, admin)
        policies.transition_policy(policy_id, target, actor=actor, reason="Superseded")
    return policies.get_policy(policy_id)


def _cancel_review_in_progress(policy_id: int, admin: User) -> None:
    """An active review workflow would hold the manual approval (policies/gate.py): the admin
    cancels its execution first, as a person would."""
    from governance.engine import operate
    from governance.policies import gate
    from governance.unit_of_work import unit_of_work

    execution = gate.gating_execution(policies.get_policy(policy_id))
    if execution is not None:
        with unit_of_work():
            operate.cancel_execution(execution.id, actor_id=admin.id, reason="Approved by hand")


def step(key: str, kind: str, config: dict | None = None, **extra) -> dict:
    return {"key": key, "type": kind, "config": config or {}, **extra}


def make_workflow(
    admin: User,
    *,
    trigger: dict,
    stages: list[list[dict]],
    conditions: list[dict] | None = None,
    name: str | None = None,
    activate: bool = True,
    one_step_per_person: bool = False,
):
    """A workflow saved and (by default) activated through the workflow service.

    `one_step_per_person` off by default, as a definition saved before the setting had it."""
    from governance.workflows import service as workflows

    definition = {
        "trigger": trigger,
        "one_step_per_person": one_step_per_person,
        "conditions": conditions or [],
        "stages": [{"steps": steps} for steps in stages],
    }
    workflow_id = workflows.save_workflow(
        None,
        name=name or f"Workflow {next(_sequence)}",
        description="",
        definition=definition,
        actor=admin,
    )
    if activate:
        workflows.activate(workflow_id, actor=admin)
    return workflows.get_workflow(workflow_id)


TASK_TITLE = "Check {{ policy.title }}"


def make_task_workflow(admin: User, trigger: dict | None = None, name: str = "Review by hand"):
    """A workflow of one step, "todo": a task "Check <the policy's title>" for its owner.
    Manual (the Run button) unless another trigger is given."""
    return make_workflow(
        admin,
        name=name,
        trigger=trigger or {"type": "manual"},
        stages=[[step("todo", "create_task", {"title": TASK_TITLE, "assignee": "owner"})]],
    )


def run_queued_steps(max_rounds: int = 50) -> int:
    """Run every queued, due step the way a consumer would (claim, run, record), until none
    is left. Returns how many steps ran. The transport (Huey) is the only part left out."""
    import sqlalchemy as sa

    from governance.engine.jobs import execute_step
    from governance.engine.models import StepRun
    from governance.timeutil import utcnow

    ran = 0
    for _ in range(max_rounds):
        db.session.expire_all()
        due = db.session.scalars(
            sa.select(StepRun.id).where(
                StepRun.status == "queued",
                sa.or_(StepRun.next_attempt_at.is_(None), StepRun.next_attempt_at <= utcnow()),
            )
        ).all()
        if not due:
            return ran
        for step_run_id in due:
            execute_step(step_run_id)
            ran += 1
    return ran


def submit_for_review(
    users, *, submitter: User | None = None, edited_by: User | None = None, **policy_fields
):
    """A new policy of users["owner"], submitted for review, its workflows' steps run.

    `edited_by`: someone else saves a revision of the draft first (a second author)."""
    policy = make_policy(users["owner"], **policy_fields)
    if edited_by is not None:
        edit_policy(policy.id, edited_by, body=f"{policy.body}\nEdited by {edited_by.name}.\n")
    policies.transition_policy(policy.id, "in_review", actor=submitter or users["owner"])
    run_queued_steps()
    return policy


def count_rows(db, model, *where) -> int:
    """How many rows of `model` match `where`. The session flushes first (as for any query),
    and its objects are expired afterwards, so what the test reads next is read afresh."""
    import sqlalchemy as sa

    count = db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
    db.session.expire_all()
    return count


def count_committed(db, model, *where) -> int:
    """count_rows in a new transaction: counts what another process (a consumer) committed
    since this session's transaction began."""
    db.session.rollback()
    return count_rows(db, model, *where)


def approval_requests(db) -> list:
    """Every approval request, oldest first, freshly read."""
    import sqlalchemy as sa

    from governance.approvals.models import ApprovalRequest

    db.session.expire_all()
    return list(db.session.scalars(sa.select(ApprovalRequest).order_by(ApprovalRequest.id)))


def signing_secrets(db, workflow_id: int) -> tuple:
    """A workflow's outbound signing secret, the previous one and when that one stops signing."""
    from governance.engine.models import Workflow

    db.session.expire_all()
    row = db.session.get(Workflow, workflow_id)
    return row.signing_secret, row.previous_signing_secret, row.previous_signing_secret_expires_at


def signing_secret_audit_actions(db) -> list[str]:
    """The audit actions of reading and rotating signing secrets, oldest first."""
    import sqlalchemy as sa

    from governance.audit.models import AuditEvent

    return db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.action.like("workflow.signing_secret%"))
        .order_by(AuditEvent.id)
    ).all()


def step_run_that_saw_a_secret(app, users, secret: str):
    """A webhook step whose workflow signs with `secret` and whose output, error and execution
    error repeat it: what must never reach a page or the API."""
    import sqlalchemy as sa

    from governance.engine.models import StepRun

    app.config["WEBHOOK_ALLOWLIST"] = ["127.0.0.1"]
    try:
        workflow = make_workflow(
            users["admin"],
            trigger={"type": "policy.created"},
            stages=[[step("hook", "webhook", {"url": "http://127.0.0.1:1/hook"})]],
        )
        # The workflow's signing secret, as if it had been rotated to this one.
        workflow.signing_secret = secret
        db.session.commit()
        make_policy(users["owner"])
    finally:
        app.config["WEBHOOK_ALLOWLIST"] = []
    run = db.session.scalar(sa.select(StepRun))
    run.output = {"secret": "anything", "echo": f"signed with {secret}", "nested": [{"secret": 1}]}
    run.error = f"refused: {secret}"
    run.execution.error = f"failed with {secret}"
    db.session.commit()
    return run


def edit_policy(policy_id: int, actor: User, **changes) -> None:
    """Save a new revision of a draft through the service, changing only `changes`."""
    policy = policies.get_policy(policy_id)
    fields = {
        "title": policy.title,
        "body": policy.body,
        "category": policy.category,
        "owner_id": policy.owner_id,
        "tags": policy.tags,
    } | changes
    policies.update_policy(
        policy.id,
        policies.PolicyInput(**fields),
        actor=actor,
        expected_version=policy.version,
        max_body=200_000,
    )


def make_consumer(
    consumer_id: str = "c1",
    *,
    last_seen_at,
    started_at=None,
    stopped_at=None,
):
    """A consumer's heartbeat row, as `flask worker` writes it (committed)."""
    from governance.queues.models import Consumer

    consumer = Consumer(
        id=consumer_id,
        host="worker-1",
        pid=4242,
        worker_count=2,
        worker_type="thread",
        version="test",
        started_at=started_at or last_seen_at,
        last_seen_at=last_seen_at,
        stopped_at=stopped_at,
        tasks_done=0,
    )
    db.session.add(consumer)
    db.session.commit()
    return consumer


def make_hook_workflow(admin: User, assignee: User, **kwargs):
    """An active workflow with the inbound webhook trigger that creates one task."""
    return make_workflow(
        admin,
        trigger={"type": "webhook"},
        stages=[
            [step("todo", "create_task", {"title": "From outside", "assignee": str(assignee.id)})]
        ],
        **kwargs,
    )


def signed_hook_headers(
    secret: str, body: bytes, *, message_id: str | None = None, timestamp=None
) -> dict[str, str]:
    """Standard Webhooks headers for an inbound call, signed by the `standardwebhooks` package
    (the reference implementation, not Steward's code). `timestamp`: a datetime, default now."""
    import uuid
    from datetime import UTC, datetime

    from standardwebhooks import Webhook

    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    moment = timestamp or datetime.now(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, moment, body.decode()),
        "content-type": "application/json",
    }


# Words that exist in one object only: a page that shows one of them shows that object.
DRAFT_SECRET = "Zebracrossing draft"
BESIDE_SECRET = "Walrusmoustache revision"
EXCEPTION_SCOPE = "Legacy payroll server PAY-01 (no disk encryption)"
EXCEPTION_SECRET = "Otterholt justification"
APPROVER_COMMENT = "Heronwatch comment"
NOTIFICATION_SECRET = "Lynxeyed notification"
TASK_SECRET = "Badgersett task"
TOKEN_SECRET = "Ibisflight token"


def make_access_world(users) -> dict:
    """One object of each kind a user may or may not read, as the demo has them (ids by name,
    plus "secrets": which object each secret word belongs to):

    a draft, a published policy, a policy with a draft revision beside its live version (each
    with the execution its creation started), an exception approved through its workflow (its
    execution and approval request, with the approver's comment), and the owner's notification,
    task, evidence pack and API token. The viewer gets a notification linking to the exception's
    execution and a task on the draft, so their own pages embed what they may not open.
    """
    from datetime import timedelta

    from governance.approvals import service as approvals
    from governance.auth import tokens
    from governance.engine.models import Execution
    from governance.evidence import service as evidence
    from governance.notifications.service import notify
    from governance.policy_exceptions import service as exceptions
    from governance.tasks.models import Task
    from governance.timeutil import utcnow

    admin, owner = users["admin"], users["owner"]
    make_workflow(
        admin,
        trigger={"type": "policy.created"},
        stages=[[step("tell", "notify", {"to_owner": True, "subject": "A new policy"})]],
    )
    make_workflow(
        admin,
        trigger={"type": "exception.requested"},
        stages=[[step("approve", "approval", {"users": [users["approver"].id], "rule": "any"})]],
    )
    draft = make_policy(owner, title=f"{DRAFT_SECRET} policy", body=f"Text of {DRAFT_SECRET}.")
    published = make_policy(owner, lifecycle.PUBLISHED, admin=admin, title="Published Policy")
    beside = make_policy(owner, lifecycle.PUBLISHED, admin=admin, title="Live Policy")
    policies.transition_policy(beside.id, lifecycle.DRAFT, actor=owner)
    edit_policy(beside.id, owner, title=f"{BESIDE_SECRET} title", body=f"Text {BESIDE_SECRET}.")
    run_queued_steps()

    today = utcnow().date()
    exception_id = exceptions.request_exception(
        published.id,
        exceptions.ExceptionInput(
            scope=EXCEPTION_SCOPE, justification=EXCEPTION_SECRET, expires_on=today + timedelta(30)
        ),
        actor=owner,
        max_days=365,
    )
    run_queued_steps()
    (request,) = approval_requests(db)
    approvals.record_decision(
        request.id, user=users["approver"], decision="approved", comment=APPROVER_COMMENT
    )
    run_queued_steps()

    def execution_of(policy_id: int, trigger: str = "policy.created") -> int:
        import sqlalchemy as sa

        return db.session.scalar(
            sa.select(Execution.id).where(
                Execution.policy_id == policy_id, Execution.trigger_type == trigger
            )
        )

    draft_execution = execution_of(draft.id)
    exception_execution = execution_of(published.id, "exception.requested")
    [note] = notify([owner.id], subject=NOTIFICATION_SECRET, link=f"/policies/{draft.id}")
    notify(
        [users["viewer"].id],
        subject="Something happened",
        link=f"/executions/{exception_execution}",
    )
    task = Task(title=TASK_SECRET, assignee_id=owner.id, policy_id=draft.id)
    step_run_id = db.session.get(Execution, draft_execution).step_runs[0].id
    viewer_task = Task(
        title="Read this",
        assignee_id=users["viewer"].id,
        policy_id=draft.id,
        step_run_id=step_run_id,
    )
    db.session.add_all([task, viewer_task])
    db.session.commit()
    pack_id = evidence.request_pack(owner, today - timedelta(days=30), today, today=today)
    token = tokens.create_token(owner, name=TOKEN_SECRET, expires_on=None, today=today)
    return {
        "draft": draft.id,
        "published": published.id,
        "beside": beside.id,
        "draft_execution": draft_execution,
        "published_execution": execution_of(published.id),
        "beside_execution": execution_of(beside.id),
        "exception": exception_id,
        "exception_execution": exception_execution,
        "request": request.id,
        "notification": note,
        "task": task.id,
        "viewer_task": viewer_task.id,
        "pack": pack_id,
        "token": token.id,
        "secrets": {
            DRAFT_SECRET: "draft",
            BESIDE_SECRET: "beside_draft",
            EXCEPTION_SCOPE: "exception",
            EXCEPTION_SECRET: "exception",
            APPROVER_COMMENT: "exception",
            NOTIFICATION_SECRET: "notification",
            TASK_SECRET: "task",
            TOKEN_SECRET: "token",
        },
    }


def make_notification(
    user: User, subject: str, *, link=None, read=False, created_at=None, step_run_id=None
):
    """One in-app notification of `user`, as the notify service leaves it (created now unless
    `created_at` says when)."""
    from governance.notifications.models import Notification
    from governance.timeutil import utcnow

    notification = Notification(
        user_id=user.id,
        subject=subject,
        body=f"About {subject}",
        link=link,
        step_run_id=step_run_id,
        created_at=created_at or utcnow(),
        read_at=utcnow() if read else None,
    )
    db.session.add(notification)
    db.session.commit()
    return notification
