"""What `flask seed-bulk` writes: accounts, workflows, then policies, executions, approvals,
audit events and job records at a chosen scale, with rows made in Python and written by COPY.

Everything scales with the number of policies N (see Scale). Ids are assigned here, so rows
can point at each other without reading anything back; the tables' sequences are moved past
them at the end. Random choices come from one seeded generator: the same N gives the same data.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from devdata.bulk import text
from devdata.bulk.writer import RowWriter
from governance.approvals.models import ApprovalRequest
from governance.audit import chain
from governance.audit.models import AuditChainHead, AuditEvent
from governance.auth import service as accounts
from governance.auth.models import User, UserRole
from governance.engine.models import Execution, StepRun
from governance.extensions import db
from governance.policies.models import Policy, PolicyRevision
from governance.policies.versions import content_hash
from governance.queues.models import DURATION_BUCKET_COLUMNS, JobCounter, JobRecord
from governance.queues.recorder import duration_bucket, minute_of
from governance.timeutil import utcnow
from governance.workflows import service as workflows

# Benchmark data only: its hash is written directly, past the password policy, on purpose.
PASSWORD = "steward-bulk"  # noqa: S105 - published benchmark password
ADMIN_EMAIL = "bulk-admin@example.org"
APPROVER_EMAIL = "bulk-approver@example.org"
VIEWER_EMAIL = "bulk-viewer@example.org"
OWNERS = 20
APPROVERS = 10
WORKFLOWS = 20
# The first workflows ask bulk-approver's approval; the others only notify and create tasks.
APPROVAL_WORKFLOWS = 5
SEED = 20_260_101
HISTORY = timedelta(days=3 * 365)

POLICY_STATUSES = (
    ("published", 60),
    ("retired", 15),
    ("draft", 12),
    ("in_review", 8),
    ("approved", 5),
)
FINISHED_EXECUTIONS = {
    # execution status -> weight, for executions of workflows with and without approvals
    True: (("succeeded", 80), ("rejected", 10), ("failed", 5), ("cancelled", 5)),
    False: (("succeeded", 90), ("failed", 7), ("cancelled", 3)),
}
JOB_STATUSES = (
    ("complete", 9_830),
    ("error", 20),
    ("retrying", 10),
    ("retried", 40),
    ("discarded", 40),
    ("lost", 20),
    ("interrupted", 20),
    ("expired", 10),
    ("revoked", 5),
    ("canceled", 5),
)
# (stage, position, key, type) of the five steps of each kind of workflow.
APPROVAL_STEPS = (
    (0, 0, "approve", "approval"),
    (1, 0, "mark_approved", "set_status"),
    (1, 1, "tell_owner", "notify"),
    (2, 0, "follow_up", "create_task"),
    (2, 1, "announce", "notify"),
)
NOTIFY_STEPS = (
    (0, 0, "announce", "notify"),
    (1, 0, "check", "create_task"),
    (1, 1, "tell_owner", "notify"),
    (2, 0, "tell_compliance", "notify"),
    (2, 1, "follow_up", "create_task"),
)
STEPS_PER_EXECUTION = len(APPROVAL_STEPS)


@dataclass(frozen=True)
class Scale:
    """How many rows of each kind N policies bring (the issue's figures for N = 100,000)."""

    policies: int

    @property
    def revisions(self) -> int:
        return 3 * self.policies

    @property
    def executions(self) -> int:
        return 2 * self.policies

    @property
    def step_runs(self) -> int:
        return STEPS_PER_EXECUTION * self.executions

    @property
    def pending_requests(self) -> int:
        return max(20, self.policies // 50)

    @property
    def approval_requests(self) -> int:
        return max(self.policies // 2, self.pending_requests)

    @property
    def audit_events(self) -> int:
        return 5 * self.policies

    @property
    def job_records(self) -> int:
        return 10 * self.policies


class AlreadySeeded(Exception):
    """The database is not empty: bulk rows numbered from its ids could tangle with its own."""


def _weighted(rng: random.Random, choices, count: int) -> list:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights, k=count)


def _spread(start: datetime, end: datetime, count: int, rng: random.Random) -> Iterator[datetime]:
    """`count` moments from start to end in increasing order, evenly spread with jitter."""
    span = (end - start).total_seconds()
    step = span / max(count, 1)
    for index in range(count):
        yield start + timedelta(seconds=step * (index + rng.random() * 0.9))


@dataclass
class Accounts:
    admin_id: int
    owner_ids: list[int]
    approver_ids: list[int]  # bulk-approver first
    viewer_id: int
    names: dict[int, str]

    @property
    def all_ids(self) -> list[int]:
        return [self.admin_id, *self.owner_ids, *self.approver_ids, self.viewer_id]


@dataclass
class WorkflowInfo:
    id: int
    version_id: int
    trigger_type: str
    trigger_data: dict
    has_approval: bool


@dataclass
class BulkSeed:
    """One run: the generator, the writer, and what later tables need from earlier ones."""

    scale: Scale
    writer: RowWriter
    echo: Callable[[str], None]
    now: datetime = field(default_factory=utcnow)
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))
    accounts: Accounts | None = None
    workflows: list[WorkflowInfo] = field(default_factory=list)
    # Per policy (index = id - first id): its owner and status.
    first_policy_id: int = 1
    policy_owner: list[int] = field(default_factory=list)
    policy_status: list[str] = field(default_factory=list)
    # Per execution: id range, status, creation time and the policy it ran for.
    first_execution_id: int = 1
    execution_status: list[str] = field(default_factory=list)
    execution_created: list[datetime] = field(default_factory=list)
    execution_policy: list[int] = field(default_factory=list)
    execution_approval: list[bool] = field(default_factory=list)
    execution_stage: list[int] = field(default_factory=list)
    first_step_run_id: int = 1

    @property
    def start(self) -> datetime:
        return self.now - HISTORY

    @property
    def people(self) -> Accounts:
        """The accounts create_accounts() made, which every later table points at."""
        assert self.accounts is not None, "create_accounts() runs first"
        return self.accounts

    def timed(self, label: str, rows: int, work: Callable[[], object]) -> None:
        began = time.perf_counter()
        work()
        self.echo(f"  {label:<22} {rows:>10,} rows {time.perf_counter() - began:>8.1f} s")


# --- accounts and workflows: a few rows, through the services where they have rules ----------


def create_accounts(run: BulkSeed) -> None:
    """The known logins, all with PASSWORD, hashed once (scrypt per user would take seconds)."""
    password_hash = accounts.hash_password(PASSWORD)
    people = [(ADMIN_EMAIL, "Bulk Admin", "admin")]
    people += [
        (
            f"bulk-owner-{n}@example.org",
            f"Owner {text.SURNAMES[n % len(text.SURNAMES)]} {n}",
            "owner",
        )
        for n in range(1, OWNERS + 1)
    ]
    people.append((APPROVER_EMAIL, "Bulk Approver", "approver"))
    people += [
        (f"bulk-approver-{n}@example.org", f"Approver {text.SURNAMES[-n]} {n}", "approver")
        for n in range(2, APPROVERS + 1)
    ]
    people.append((VIEWER_EMAIL, "Bulk Viewer", "viewer"))
    first = run.writer.next_id(User.__table__)
    ids = list(range(first, first + len(people)))
    run.writer.write(
        User.__table__,
        ("id", "email", "name", "password_hash", "is_enabled", "created_at", "notify_by"),
        # In-app notifications only: a load run must not send a million emails.
        [
            (user_id, email, name, password_hash, True, run.start, "in_app")
            for user_id, (email, name, _) in zip(ids, people, strict=True)
        ],
    )
    run.writer.write(
        UserRole.__table__,
        ("user_id", "role"),
        [(user_id, role) for user_id, (_, _, role) in zip(ids, people, strict=True)],
    )
    run.writer.continue_sequence(User.__table__)
    run.accounts = Accounts(
        admin_id=ids[0],
        owner_ids=ids[1 : 1 + OWNERS],
        approver_ids=ids[1 + OWNERS : 1 + OWNERS + APPROVERS],
        viewer_id=ids[-1],
        names={user_id: name for user_id, (_, name, _) in zip(ids, people, strict=True)},
    )


def _step(key: str, kind: str, config: dict) -> dict:
    retry = {"attempts": 5, "backoff": "exponential", "base_seconds": 10}
    return {"key": key, "type": kind, "config": config, "when": None, "retry": retry}


def _definition(index: int, approver_id: int, owner_id: int) -> tuple[dict, bool]:
    notify = {"to_owner": True, "subject": "{{ policy.title }}", "body": "See the policy."}
    task = {"title": "Check {{ policy.title }}", "assignee": str(owner_id), "due_days": 5}
    if index < APPROVAL_WORKFLOWS:
        trigger = {"type": "policy.status_changed", "from_status": "", "to_status": "in_review"}
        approval = {"users": [approver_id], "rule": "any", "due_hours": 72}
        kinds: dict[str, dict] = {
            "approval": approval,
            "set_status": {"status": "approved"},
            "notify": notify,
            "create_task": task,
        }
        steps = APPROVAL_STEPS
    else:
        trigger = (
            {"type": "policy.status_changed", "from_status": "", "to_status": "published"}
            if index % 3 == 0
            else {"type": "manual"}
            if index % 3 == 1
            else {"type": "policy.review_due"}
        )
        kinds = {"notify": notify, "create_task": task}
        steps = NOTIFY_STEPS
    stages: list[list[dict]] = [[], [], []]
    for stage, _, key, kind in steps:
        stages[stage].append(_step(key, kind, kinds[kind]))
    definition = {"trigger": trigger, "conditions": [], "stages": [{"steps": s} for s in stages]}
    return definition, index < APPROVAL_WORKFLOWS


def create_workflows(run: BulkSeed) -> None:
    """Twenty active workflows, saved and activated through the workflow service."""
    people = run.people
    admin = db.session.get_one(User, people.admin_id)
    for index in range(WORKFLOWS):
        definition, has_approval = _definition(
            index, people.approver_ids[0], people.owner_ids[index % OWNERS]
        )
        name = f"{text.WORKFLOW_NAMES[index]} (bulk {index + 1})"
        workflow_id = workflows.save_workflow(
            None,
            name=name,
            description=f"Bulk workflow {index + 1}.",
            definition=definition,
            actor=admin,
        )
        workflows.activate(workflow_id, actor=admin)
        workflow = workflows.get_workflow(workflow_id)
        assert workflow.active_version_id is not None, "activate() sets the active version"
        trigger = definition["trigger"]
        trigger_data = (
            {"from_status": "draft", "to_status": trigger["to_status"]}
            if trigger["type"] == "policy.status_changed"
            else {}
        )
        run.workflows.append(
            WorkflowInfo(
                workflow.id, workflow.active_version_id, trigger["type"], trigger_data, has_approval
            )
        )


# --- policies and their revisions ---------------------------------------------------------

POLICY_COLUMNS = (
    "id",
    "title",
    "body",
    "category",
    "tags",
    "owner_id",
    "status",
    "next_review_on",
    "submitted_by_id",
    "retired_reason",
    "current_revision",
    "published_revision",
    "created_at",
    "updated_at",
    "status_changed_at",
    "version",
    "approved_by_id",
    "change_kind",
    "review_frequency",
    "review_anchor_on",
    "ack_required",
    "ack_everyone",
)
REVISION_COLUMNS = (
    "id",
    "policy_id",
    "number",
    "author_id",
    "created_at",
    "summary",
    "title",
    "body",
    "category",
    "tags",
    "owner_id",
    "next_review_on",
    "version_label",
    "content_hash",
    "change_kind",
    "published_at",
    "published_by_id",
    "approvers",
)
REVISION_SUMMARIES = ("First draft", "Clarified scope", "Updated requirements")


def _labels(status: str, rng: random.Random) -> dict[int, str]:
    """Which revisions were published, as which version: {revision number: label}."""
    if status == "published":
        return {2: "1.0", 3: "1.1"} if rng.random() < 0.5 else {3: "1.0"}
    if status == "retired" or rng.random() < 0.5:
        return {2: "1.0"}  # retired after, or being revised since, its first publication
    return {}


def _plan_policy(run: BulkSeed, policy_id: int) -> tuple[tuple, list[tuple]]:
    """One policy's row and its three revisions' rows, the same every time for this id."""
    rng = random.Random(SEED * 1_000_003 + policy_id)
    people = run.people
    index = policy_id - run.first_policy_id
    status = run.policy_status[index]
    owner_id = run.policy_owner[index]
    category = rng.choice(text.CATEGORIES)
    title = text.title(rng)
    tags = text.tags(rng)
    sentences = rng.sample(text.SENTENCES, 7)
    span = (run.now - run.start).total_seconds()
    created = run.start + timedelta(
        seconds=0.9 * span * (index + rng.random()) / run.scale.policies
    )
    times = [created]
    for _ in range(2):
        times.append(times[-1] + (run.now - times[-1]) * (rng.random() / 3))
    labels = _labels(status, rng)
    frequency = "yearly" if rng.random() < 0.8 else "quarterly"
    period = timedelta(days=365 if frequency == "yearly" else 91)
    approver_id = rng.choice(people.approver_ids)
    revisions = []
    next_review_on: date | None = None
    for number in (1, 2, 3):
        body = text.body(title, category, sentences[: 3 + number])
        label = labels.get(number)
        frozen: tuple = (None, None, None, None, None, None)
        if label is not None:
            published_at = times[number - 1] + timedelta(hours=1 + 47 * rng.random())
            next_review_on = (published_at + period).date()
            approvers = [
                {
                    "id": approver_id,
                    "name": people.names[approver_id],
                    "at": (published_at - timedelta(hours=1)).isoformat(),
                    "via": "manual approval",
                }
            ]
            frozen = (
                label,
                content_hash(title=title, category=category, tags=tags, body=body),
                "minor" if label == "1.1" else "major",
                published_at,
                people.admin_id,
                approvers,
            )
        revisions.append(
            (
                None,  # its id, numbered by the caller
                policy_id,
                number,
                owner_id,
                times[number - 1],
                REVISION_SUMMARIES[number - 1],
                title,
                body,
                category,
                tags,
                owner_id,
                next_review_on,
                *frozen,
            )
        )
    published_revision = max(labels) if labels else None
    has_version = status != "retired" and published_revision is not None
    policy = (
        policy_id,
        title,
        revisions[-1][7],
        category,
        tags,
        owner_id,
        status,
        next_review_on if has_version else None,
        owner_id if status in ("in_review", "approved") else None,
        "Superseded by a newer policy." if status == "retired" else None,
        3,
        published_revision,
        created,
        times[-1],
        times[-1],
        1,
        approver_id if status == "approved" else None,
        "major",
        frequency,
        next_review_on if has_version else None,
        False,
        False,
    )
    return policy, revisions


def write_policies(run: BulkSeed) -> None:
    count = run.scale.policies
    people = run.people
    run.first_policy_id = run.writer.next_id(Policy.__table__)
    run.policy_status = _weighted(run.rng, POLICY_STATUSES, count)
    run.policy_owner = [people.owner_ids[run.rng.randrange(OWNERS)] for _ in range(count)]
    ids = range(run.first_policy_id, run.first_policy_id + count)
    run.timed(
        "policies",
        count,
        lambda: run.writer.write(
            Policy.__table__, POLICY_COLUMNS, (_plan_policy(run, pid)[0] for pid in ids)
        ),
    )
    first_revision = run.writer.next_id(PolicyRevision.__table__)

    def revision_rows() -> Iterator[tuple]:
        revision_id = first_revision
        for pid in ids:
            for row in _plan_policy(run, pid)[1]:
                yield (revision_id, *row[1:])
                revision_id += 1

    run.timed(
        "policy_revisions",
        run.scale.revisions,
        lambda: run.writer.write(PolicyRevision.__table__, REVISION_COLUMNS, revision_rows()),
    )


# --- executions, step runs and approval requests ------------------------------------------

EXECUTION_COLUMNS = (
    "id",
    "workflow_id",
    "version_id",
    "policy_id",
    "status",
    "trigger_type",
    "trigger_data",
    "actor_id",
    "current_stage",
    "error",
    "created_at",
    "finished_at",
)
STEP_RUN_COLUMNS = (
    "id",
    "execution_id",
    "stage_index",
    "position",
    "step_key",
    "step_type",
    "status",
    "attempt",
    "max_attempts",
    "queued_at",
    "started_at",
    "finished_at",
    "output",
    "error",
)
APPROVAL_COLUMNS = (
    "id",
    "step_run_id",
    "execution_id",
    "assignee_user_id",
    "status",
    "due_at",
    "decided_by_id",
    "decided_at",
    "comment",
    "content_hash",
    "created_at",
)
STEP_ERROR = "SMTPConnectError: mail.example.org refused the connection (after 5 attempts)"
EXECUTION_ERROR = "Step “{key}” failed: " + STEP_ERROR
SECONDS = [timedelta(seconds=n) for n in range(60)]


def write_executions(run: BulkSeed) -> None:
    rng, scale = run.rng, run.scale
    count = scale.executions
    run.first_execution_id = run.writer.next_id(Execution.__table__)
    # Which executions asked for an approval; the newest of them still wait for bulk-approver.
    asked = sorted(rng.sample(range(count), min(scale.approval_requests, count)))
    waiting = set(asked[-scale.pending_requests :])
    asked_set = set(asked)
    in_review = [
        run.first_policy_id + index
        for index, status in enumerate(run.policy_status)
        if status == "in_review"
    ] or [run.first_policy_id]
    approval_flows = [flow for flow in run.workflows if flow.has_approval]
    other_flows = [flow for flow in run.workflows if not flow.has_approval]
    statuses = {has: _weighted(rng, FINISHED_EXECUTIONS[has], count) for has in (True, False)}

    def rows() -> Iterator[tuple]:
        moments = _spread(run.start, run.now - timedelta(hours=1), count, rng)
        for index, created in enumerate(moments):
            has_approval = index in asked_set
            if index in waiting:
                status = "waiting"
                policy_id = in_review[len(run.execution_status) % len(in_review)]
            else:
                status = statuses[has_approval][index]
                policy_id = run.first_policy_id + rng.randrange(scale.policies)
            flow = rng.choice(approval_flows if has_approval else other_flows)
            stage = 0 if status in ("waiting", "rejected") else 2
            if status in ("failed", "cancelled"):
                stage = rng.randrange(1 if has_approval else 0, 3)
            run.execution_status.append(status)
            run.execution_created.append(created)
            run.execution_policy.append(policy_id)
            run.execution_approval.append(has_approval)
            run.execution_stage.append(stage)
            error = None
            if status == "failed":
                error = EXECUTION_ERROR.format(key=_first_key(has_approval, stage))
            elif status == "rejected":
                error = "Rejected at step “approve”."
            yield (
                run.first_execution_id + index,
                flow.id,
                flow.version_id,
                policy_id,
                status,
                flow.trigger_type,
                {**flow.trigger_data, "policy_id": policy_id},
                run.policy_owner[policy_id - run.first_policy_id],
                stage,
                error,
                created,
                None if status == "waiting" else created + SECONDS[30],
            )

    run.timed(
        "executions",
        count,
        lambda: run.writer.write(Execution.__table__, EXECUTION_COLUMNS, rows()),
    )
    run.first_step_run_id = run.writer.next_id(StepRun.__table__)
    run.timed(
        "step_runs",
        scale.step_runs,
        lambda: run.writer.write(StepRun.__table__, STEP_RUN_COLUMNS, _step_run_rows(run)),
    )
    first_request_id = run.writer.next_id(ApprovalRequest.__table__)
    run.timed(
        "approval_requests",
        len(asked),
        lambda: run.writer.write(
            ApprovalRequest.__table__,
            APPROVAL_COLUMNS,
            _approval_rows(run, first_request_id, asked, waiting),
        ),
    )


def _steps(has_approval: bool) -> tuple:
    return APPROVAL_STEPS if has_approval else NOTIFY_STEPS


def _first_key(has_approval: bool, stage: int) -> str:
    return next(key for s, p, key, _ in _steps(has_approval) if s == stage and p == 0)


def _step_status(execution_status: str, reached: int, stage: int, position: int) -> str:
    """A step's end state, given how its execution ended and the stage it reached."""
    if execution_status == "succeeded" or stage < reached:
        return "succeeded"
    if execution_status == "waiting":
        return "waiting" if stage == 0 else "pending"
    if stage > reached or execution_status == "cancelled":
        return "cancelled"
    if execution_status == "rejected":
        return "failed"  # the approval, alone in its stage
    return "failed" if position == 0 else "succeeded"  # the stage where it failed


def _step_run_rows(run: BulkSeed) -> Iterator[tuple]:
    step_id = run.first_step_run_id
    for index, status in enumerate(run.execution_status):
        execution_id = run.first_execution_id + index
        created = run.execution_created[index]
        has_approval = run.execution_approval[index]
        reached = run.execution_stage[index]
        for stage, position, key, kind in _steps(has_approval):
            step_status = _step_status(status, reached, stage, position)
            started = finished = None
            attempt = 0
            if step_status in ("succeeded", "failed", "waiting"):
                attempt = 5 if step_status == "failed" and kind != "approval" else 1
                started = created + SECONDS[1 + stage * 10 + position]
                if step_status != "waiting":
                    finished = started + SECONDS[1]
            output = {}
            if kind == "approval" and attempt:
                output = {"rule": "any", "requests": 1, "due_at": None}
            error = None
            if step_status == "failed":
                error = "Rejected." if kind == "approval" else STEP_ERROR
            yield (
                step_id,
                execution_id,
                stage,
                position,
                key,
                kind,
                step_status,
                attempt,
                5,
                started,
                started,
                finished,
                output,
                error,
            )
            step_id += 1


DECISIONS = {"succeeded": "approved", "failed": "approved", "rejected": "rejected"}
DUE_IN = (timedelta(days=1), timedelta(days=3), timedelta(days=7), timedelta(days=30), None)


def _approval_rows(
    run: BulkSeed, first_id: int, asked: list[int], waiting: set[int]
) -> Iterator[tuple]:
    rng = run.rng
    approvers = run.people.approver_ids
    for number, index in enumerate(asked):
        created = run.execution_created[index] + SECONDS[2]
        step_run_id = run.first_step_run_id + index * STEPS_PER_EXECUTION
        execution_id = run.first_execution_id + index
        if index in waiting:
            due = rng.choice(DUE_IN)
            decided: tuple = (approvers[0], "pending", None if due is None else created + due)
            decision: tuple = (None, None, None, None)
        else:
            assignee = rng.choice(approvers)
            status = DECISIONS.get(run.execution_status[index], "cancelled")
            decided = (assignee, status, created + timedelta(days=3))
            decided_by = None if status == "cancelled" else assignee
            digest = hashlib.sha256(str(run.execution_policy[index]).encode()).hexdigest()
            decision = (
                decided_by,
                None if decided_by is None else created + timedelta(hours=2),
                {"approved": "Approved.", "rejected": "Not ready."}.get(status),
                None if decided_by is None else digest,
            )
        yield (first_id + number, step_run_id, execution_id, *decided, *decision, created)


# --- audit events, continuing the hash chain ----------------------------------------------

AUDIT_COLUMNS = (
    "id",
    "seq",
    "created_at",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "summary",
    "changes",
    "prev_hash",
    "hash",
)
STATUS_CHANGES = [
    {"status": [before, after]}
    for before, after in (
        ("draft", "in_review"),
        ("in_review", "approved"),
        ("approved", "published"),
        ("in_review", "draft"),
        ("published", "retired"),
    )
]
# action, object type, weight
AUDIT_ACTIONS = (
    ("policy.updated", "policy", 30),
    ("policy.status_changed", "policy", 20),
    ("user.login", "user", 20),
    ("policy.created", "policy", 10),
    ("approval.approved", "approval_request", 10),
    ("approval.rejected", "approval_request", 2),
    ("task.done", "task", 5),
    ("policy.reviewed", "policy", 1),
    ("execution.cancelled", "execution", 1),
    ("execution.retried", "execution", 1),
)


def write_audit_events(run: BulkSeed) -> None:
    """Events hashed here with the chain's own functions, after the chain's current head,
    which is locked for the whole transaction and moved to the last event at the end."""
    connection = run.writer.connection
    head = AuditChainHead.__table__
    row_id = AuditChainHead.ROW_ID
    locked = connection.execute(
        sa.update(head).where(head.c.id == row_id).values(seq=head.c.seq)
    ).rowcount
    if not locked:
        connection.execute(sa.insert(head).values(id=row_id, seq=0, last_hash=chain.GENESIS_HASH))
    seq, prev_hash = connection.execute(
        sa.select(head.c.seq, head.c.last_hash).where(head.c.id == row_id)
    ).one()
    count = run.scale.audit_events
    first_id = run.writer.next_id(AuditEvent.__table__)
    users = run.people.all_ids
    actions = _weighted(run.rng, [((a, o), w) for a, o, w in AUDIT_ACTIONS], count)
    last = {"seq": seq, "hash": prev_hash}

    def rows() -> Iterator[tuple]:
        rng = run.rng
        position, previous = seq, prev_hash
        moments = _spread(run.start, run.now - timedelta(minutes=5), count, rng)
        for number, created in enumerate(moments):
            action, object_type = actions[number]
            actor_id = rng.choice(users)
            if object_type == "policy":
                object_id = run.first_policy_id + rng.randrange(run.scale.policies)
                summary = (
                    f"{action.split('.')[1].replace('_', ' ').capitalize()}: policy #{object_id}"
                )
            elif object_type == "user":
                object_id = actor_id
                summary = "Signed in"
            else:
                object_id = rng.randrange(1, run.scale.executions)
                summary = f"{action} #{object_id}"
            changes = rng.choice(STATUS_CHANGES) if action == "policy.status_changed" else {}
            event = {
                "created_at": created,
                "actor_id": actor_id,
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                "summary": summary,
                "changes": changes,
            }
            position += 1
            digest = chain.event_hash(event, seq=position, prev_hash=previous)
            yield (
                first_id + number,
                position,
                created,
                actor_id,
                action,
                object_type,
                object_id,
                summary,
                changes,
                previous,
                digest,
            )
            previous = digest
        last.update(seq=position, hash=previous)

    run.timed(
        "audit_events", count, lambda: run.writer.write(AuditEvent.__table__, AUDIT_COLUMNS, rows())
    )
    connection.execute(
        sa.update(head).where(head.c.id == row_id).values(seq=last["seq"], last_hash=last["hash"])
    )


# --- job records ----------------------------------------------------------------------------

JOB_COLUMNS = (
    "id",
    "task_id",
    "task_name",
    "args",
    "step_run_id",
    "status",
    "attempts",
    "created_at",
    "enqueued_at",
    "started_at",
    "finished_at",
    "duration_ms",
    "consumer_id",
    "error",
    "resolved_at",
    "resolved_by_id",
    "resolution",
)
JOB_ERROR = "SMTPConnectError: mail.example.org refused the connection"
CONSUMERS = [f"bulk-{host}-{pid}" for host in ("web1", "web2", "worker1") for pid in (101, 202)]


# What each final status adds to its minute's counter (as the recorder counts signals).
JOB_COUNTED = {
    "complete": "succeeded",
    "error": "failed",
    "retried": "failed",
    "discarded": "failed",
    "retrying": "retried",
}
NEVER_STARTED = frozenset({"revoked", "expired", "canceled"})


def write_job_records(run: BulkSeed, window: timedelta) -> None:
    """Job records over the last `window` (inside the retention, so housekeeping keeps them),
    and the per-minute counters the queue pages read, summed from those same records."""
    count = run.scale.job_records
    first_id = run.writer.next_id(JobRecord.__table__)
    statuses = _weighted(run.rng, JOB_STATUSES, count)
    admin_id = run.people.admin_id
    step_runs = run.scale.step_runs
    counters: dict[tuple[datetime, str], dict[str, float]] = {}

    def rows() -> Iterator[tuple]:
        rng = run.rng
        moments = _spread(run.now - window, run.now - timedelta(minutes=1), count, rng)
        for number, created in enumerate(moments):
            status = statuses[number]
            if number % 10 == 9:
                name, step_run_id, args = "steward.send_email", None, [number]
            else:
                name = "steward.run_step"
                step_run_id = run.first_step_run_id + number % step_runs
                args = [step_run_id]
            started: datetime | None = None
            finished: datetime | None = None
            duration: float | None = None
            counter = counters.setdefault((minute_of(created), name), {})
            if status not in NEVER_STARTED:
                started = created + timedelta(milliseconds=5)
                counter["started"] = counter.get("started", 0) + 1
                # Only a job that started is counted (JOB_COUNTED and NEVER_STARTED are apart).
                if status in JOB_COUNTED:
                    duration = rng.expovariate(1 / 40)
                    finished = started + timedelta(milliseconds=duration)
                    for column, increment in (
                        (JOB_COUNTED[status], 1),
                        ("total_duration_ms", duration),
                        (duration_bucket(duration), 1),
                    ):
                        counter[column] = counter.get(column, 0) + increment
            resolved = status in ("retried", "discarded")
            yield (
                first_id + number,
                f"{first_id + number:032x}",
                name,
                args,
                step_run_id,
                status,
                0 if started is None else 1,
                created,
                created,
                started,
                finished,
                duration,
                None if started is None else CONSUMERS[number % len(CONSUMERS)],
                JOB_ERROR if JOB_COUNTED.get(status) in ("failed", "retried") else None,
                created + timedelta(hours=1) if resolved else None,
                admin_id if resolved else None,
                ("Re-sent by an operator" if status == "retried" else "Obsolete")
                if resolved
                else None,
            )

    run.timed(
        "job_records", count, lambda: run.writer.write(JobRecord.__table__, JOB_COLUMNS, rows())
    )
    columns: tuple[str, ...] = ("minute", "task_name", "started", *DURATION_BUCKET_COLUMNS)
    columns += ("succeeded", "failed", "retried", "total_duration_ms")
    run.timed(
        "job_counters",
        len(counters),
        lambda: run.writer.write(
            JobCounter.__table__,
            columns,
            (
                (minute, name, *(values.get(column, 0) for column in columns[2:]))
                for (minute, name), values in sorted(counters.items())
            ),
        ),
    )


# --- the whole run ------------------------------------------------------------------------

BULK_TABLES = (
    Policy.__table__,
    PolicyRevision.__table__,
    Execution.__table__,
    StepRun.__table__,
    ApprovalRequest.__table__,
    AuditEvent.__table__,
    JobRecord.__table__,
    JobCounter.__table__,
)


def seed_bulk(policies: int, *, echo: Callable[[str], None]) -> Accounts:
    """Fill an empty, migrated database. Raises AlreadySeeded if it holds policies or the
    bulk accounts. Accounts and workflows commit first; everything else in one transaction."""
    if db.session.scalar(sa.select(Policy.id).limit(1)) is not None:
        raise AlreadySeeded("The database already holds policies: seed-bulk needs an empty one.")
    if db.session.scalar(sa.select(User.id).where(User.email == ADMIN_EMAIL)) is not None:
        raise AlreadySeeded(f"{ADMIN_EMAIL} exists already: seed-bulk needs an empty database.")
    began = time.perf_counter()
    run = BulkSeed(Scale(policies), RowWriter(db.session.connection()), echo)
    run.timed("users and roles", 1 + OWNERS + APPROVERS + 1, lambda: create_accounts(run))
    db.session.commit()
    run.timed("workflows (service)", WORKFLOWS, lambda: create_workflows(run))
    run.writer = RowWriter(db.session.connection())
    with run.writer.indexes_built_after(BULK_TABLES):
        write_policies(run)
        write_executions(run)
        write_audit_events(run)
        write_job_records(run, timedelta(days=current_app.config["JOB_RETENTION_DAYS"] * 0.95))
        index_began = time.perf_counter()
    echo(f"  {'indexes':<22} {'':>15} {time.perf_counter() - index_began:>8.1f} s")
    for table in BULK_TABLES:
        if "id" in table.c:
            run.writer.continue_sequence(table)
    run.timed("analyze", len(BULK_TABLES), lambda: run.writer.analyze(BULK_TABLES))
    commit_began = time.perf_counter()
    db.session.commit()
    echo(f"  {'commit':<22} {'':>15} {time.perf_counter() - commit_began:>8.1f} s")
    echo(f"  {'total':<22} {'':>15} {time.perf_counter() - began:>8.1f} s")
    return run.people


def login_lines(people: Accounts) -> list[str]:
    """One line per account, for the benchmark to read: login <role> <email> <password> <id>."""
    roles = [("admin", ADMIN_EMAIL, people.admin_id)]
    roles += [
        ("owner", f"bulk-owner-{n}@example.org", user_id)
        for n, user_id in enumerate(people.owner_ids, 1)
    ]
    roles.append(("approver", APPROVER_EMAIL, people.approver_ids[0]))
    roles += [
        ("approver", f"bulk-approver-{n}@example.org", user_id)
        for n, user_id in enumerate(people.approver_ids[1:], 2)
    ]
    roles.append(("viewer", VIEWER_EMAIL, people.viewer_id))
    return [f"login {role} {email} {PASSWORD} {user_id}" for role, email, user_id in roles]
