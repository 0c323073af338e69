"""The demo organisation `flask seed-demo` creates, through the same services as the UI."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import TypedDict

import sqlalchemy as sa
from flask import current_app

from governance.acknowledgements import service as acknowledgements
from governance.approvals.models import ApprovalRequest
from governance.auth import service as accounts
from governance.auth.models import User
from governance.dbutil import rowcount
from governance.engine.jobs import execute_step
from governance.engine.models import Execution, StepRun
from governance.extensions import db
from governance.policies import lifecycle
from governance.policies import service as policies
from governance.policies.models import Policy
from governance.reviews.service import run_review_schedule
from governance.timeutil import utcnow
from governance.workflows import service as workflows

# Long enough for the password policy (15 characters), as any real password must be.
DEMO_PASSWORD = "steward-demo-pass"  # noqa: S105 - published demo password

USERS = [
    # email, name, roles, groups
    ("admin@example.org", "Ada Admin", ["admin"], []),
    ("olivia@example.org", "Olivia Owner", ["owner"], ["Compliance"]),
    ("omar@example.org", "Omar Owner", ["owner"], []),
    ("lena@example.org", "Lena Legal", ["approver"], ["Legal"]),
    ("sam@example.org", "Sam Security", ["approver"], ["Security"]),
    ("priya@example.org", "Priya Partner", ["approver"], ["Legal", "Security"]),
    ("victor@example.org", "Victor Viewer", ["viewer"], []),
]

GROUPS = ["Legal", "Security", "Compliance"]

# Review dates (days from today) that show the review cadence at work: one overdue (the
# scheduler flags it), one due within 30 days (on the dashboard and in the owner's reminders).
REVIEW_DATES = {"Acceptable Use of IT Systems": -12, "Data Retention Schedule": 20}

# title, category, owner email, tags, final status, review cadence
POLICIES = [
    ("Acceptable Use of IT Systems", "Security", "olivia", "it, conduct", "published", "yearly"),
    ("Information Security Policy", "Security", "omar", "iso27001, isms", "published", "yearly"),
    ("Data Retention Schedule", "Privacy", "olivia", "gdpr, records", "published", "quarterly"),
    ("Anti-Bribery and Corruption", "Ethics", "omar", "ukba, fcpa", "approved", "yearly"),
    (
        "Supplier Due Diligence",
        "Procurement",
        "olivia",
        "vendors, third parties",
        "in_review",
        "yearly",
    ),
    ("Remote Working", "People", "omar", "hr, home office", "in_review", "yearly"),
    ("Incident Response Plan", "Security", "olivia", "incidents, on-call", "draft", "quarterly"),
    (
        "Password and Authentication Standard",
        "Security",
        "omar",
        "identity, mfa",
        "draft",
        "yearly",
    ),
    ("Whistleblowing Procedure", "Ethics", "olivia", "speak up", "published", "yearly"),
    ("Clean Desk Policy", "Security", "omar", "physical security", "retired", "yearly"),
    ("Expenses and Travel", "Finance", "olivia", "travel, expenses", "draft", "yearly"),
    ("Privacy Notice for Employees", "Privacy", "omar", "gdpr, hr", "published", "yearly"),
]


class _Edit(TypedDict, total=False):
    """What one revision changes in the demo text: `_body`'s keyword arguments."""

    scope: str
    notes: list[str]


# Each revision after the first: its change summary and what it changed in the text.
EDITS: list[tuple[str, _Edit]] = [
    ("Clarified scope", {"scope": "Applies to all employees, contractors and temporary staff."}),
    ("Added exceptions", {"notes": ["Exceptions must be approved in writing by the owner."]}),
]


def _body(
    title: str, category: str, scope: str = "Applies to all employees.", notes: Sequence[str] = ()
) -> str:
    lines = [
        f"# {title}",
        "",
        "## Purpose",
        "",
        f"This policy sets out how the organisation manages **{category.lower()}** risk "
        f"related to {title.lower()}.",
        "",
        "## Scope",
        "",
        scope,
        "",
        "## Requirements",
        "",
        "1. Read this policy when you join and whenever it changes.",
        "2. Report suspected breaches to the policy owner without delay.",
        "3. Keep records for the period in the [retention schedule](https://example.org/retention).",
        "",
        "## Responsibilities",
        "",
        "| Role | Responsibility |",
        "| --- | --- |",
        "| Policy owner | Keeps this policy current and answers questions |",
        "| Managers | Make sure their teams follow it |",
        "",
    ]
    if notes:
        lines += ["## Notes", "", *[f"- {item}" for item in notes], ""]
    return "\n".join(lines)


def seed() -> Iterator[str]:
    admin_id = accounts.create_user(
        email=USERS[0][0], name=USERS[0][1], password=DEMO_PASSWORD, roles=USERS[0][2], actor=None
    )
    admin = accounts.get_user(admin_id)
    groups = {name: accounts.create_group(name, actor=admin) for name in GROUPS}
    users = {"admin": admin}
    for email, name, roles, group_names in USERS[1:]:
        user_id = accounts.create_user(
            email=email,
            name=name,
            password=DEMO_PASSWORD,
            roles=roles,
            group_ids=[groups[group] for group in group_names],
            actor=admin,
        )
        users[email.split("@")[0]] = accounts.get_user(user_id)
    yield f"Created {len(USERS)} demo users (password for all: {DEMO_PASSWORD}):"
    for email, _name, roles, group_names in USERS:
        yield f"  {email:<22} {', '.join(roles):<9} {', '.join(group_names)}"

    max_body = current_app.config["POLICY_BODY_MAX_CHARS"]
    for index, (title, category, owner, tags, status, frequency) in enumerate(POLICIES):
        author = users[owner]
        policy_id = policies.create_policy(
            policies.PolicyInput(
                title=title,
                body=_body(title, category),
                category=category,
                owner_id=author.id,
                tags=tags,
                review_frequency=frequency,
            ),
            actor=author,
            max_body=max_body,
            summary="First draft",
        )
        changes: _Edit = {}
        for summary, change in EDITS[: 1 + index % 2]:
            changes |= change
            policy = policies.get_policy(policy_id)
            policies.update_policy(
                policy_id,
                policies.PolicyInput(
                    title=title,
                    body=_body(title, category, **changes),
                    category=category,
                    owner_id=author.id,
                    tags=tags,
                    review_frequency=frequency,
                    next_review_on=policy.next_review_on,
                ),
                actor=author,
                expected_version=policy.version,
                max_body=max_body,
                summary=summary,
            )
        _move_to(policy_id, status, owner=author, admin=admin)
        if title in REVIEW_DATES:
            policy = policies.get_policy(policy_id)
            policy.next_review_on = utcnow().date() + timedelta(days=REVIEW_DATES[title])
            policy.review_anchor_on = policy.next_review_on
            db.session.commit()
    yield f"Created {len(POLICIES)} demo policies across every status."
    yield from _seed_versions(admin, users)
    yield from _seed_acknowledgements(users, groups)
    yield from _seed_workflows(admin, groups, users)
    yield from _seed_exceptions(admin, groups, users)
    run = run_review_schedule()
    yield (
        f"Review scheduler: {len(run.overdue)} policy flagged “review overdue”, "
        f"{len(run.reminded)} review reminder(s) sent; see /dashboard."
    )


def _revise(title: str, *, owner, old: str, new: str, summary: str) -> int:
    """Start a revision of a published demo policy and save one edit as a draft."""
    policy_id = db.session.execute(sa.select(Policy.id).where(Policy.title == title)).scalar_one()
    policies.transition_policy(policy_id, lifecycle.DRAFT, actor=owner)
    policy = policies.get_policy(policy_id)
    policies.update_policy(
        policy_id,
        policies.PolicyInput(
            title=policy.title,
            body=policy.body.replace(old, new),
            category=policy.category,
            owner_id=policy.owner_id,
            tags=policy.tags,
            review_frequency=policy.review_frequency,
            review_interval_days=policy.review_interval_days,
            next_review_on=policy.next_review_on,
        ),
        actor=owner,
        expected_version=policy.version,
        max_body=current_app.config["POLICY_BODY_MAX_CHARS"],
        summary=summary,
    )
    return policy_id


def _seed_versions(admin, users: dict) -> Iterator[str]:
    """A minor version published on top of 1.0, and a draft being written beside a live one."""
    revised = _revise(
        "Information Security Policy",
        owner=users["omar"],
        old="contractors and temporary staff.",
        new="contractors, temporary staff and service providers with access to our systems.",
        summary="Service providers in scope",
    )
    policies.transition_policy(
        revised, lifecycle.IN_REVIEW, actor=users["omar"], change_kind="minor"
    )
    policies.transition_policy(revised, lifecycle.APPROVED, actor=admin)
    policies.transition_policy(revised, lifecycle.PUBLISHED, actor=users["omar"])
    _revise(
        "Data Retention Schedule",
        owner=users["olivia"],
        old="## Responsibilities",
        new="Backups follow the same schedule as the records they hold.\n\n## Responsibilities",
        summary="Backups",
    )
    yield (
        "Published “Information Security Policy” v1.1 (a minor change) and started a "
        "revision of “Data Retention Schedule” beside its live v1.0."
    )


def _seed_acknowledgements(users: dict, groups: dict[str, int]) -> Iterator[str]:
    """Two campaigns in progress: everyone reads the security policy (4 of 7 so far, asked
    9 days ago), Legal reads the retention schedule (1 of 2, overdue since 6 days)."""
    campaigns = [
        ("Information Security Policy", None, 9, ["lena", "sam", "olivia", "omar"]),
        ("Data Retention Schedule", "Legal", 20, ["lena"]),
    ]
    for title, group, days_ago, readers in campaigns:
        policy = db.session.execute(sa.select(Policy).where(Policy.title == title)).scalar_one()
        # Opened days ago through the service itself, so the due date its announcement
        # states is the one the campaign stores (rewriting it afterwards made them differ).
        acknowledgements.update_settings(
            policy.id,
            acknowledgements.AckSettings(
                required=True, everyone=group is None, group_ids=[groups[group]] if group else []
            ),
            actor=users["admin"],
            opened_at=utcnow() - timedelta(days=days_ago),
        )
        for reader in readers:
            row = acknowledgements.my_row_for_policy(users[reader].id, policy.id)
            assert row is not None, f"{reader} is in the campaign's audience"
            acknowledgements.acknowledge(
                row.id,
                user=users[reader],
                ip_address="192.0.2.10",
                user_agent="Mozilla/5.0 (X11; Linux x86_64) Steward demo",
            )
    yield (
        "Asked everyone to acknowledge the “Information Security Policy” (4 of 7 so far) and "
        "Legal the “Data Retention Schedule” (overdue for Priya)."
    )


def _seed_workflows(admin, groups: dict[str, int], users: dict) -> Iterator[str]:
    """Three active workflows, and one policy submitted so an execution waits for approvals."""
    retry = {"attempts": 5, "backoff": "exponential", "base_seconds": 10}

    def step(key: str, kind: str, config: dict) -> dict:
        return {"key": key, "type": kind, "config": config, "when": None, "retry": retry}

    designs = [
        (
            "Review on submit",
            "Legal and Security approve in parallel; then the policy is approved and the "
            "owner is told.",
            {"type": "policy.status_changed", "from_status": "", "to_status": "in_review"},
            [
                [
                    step(
                        "legal",
                        "approval",
                        {
                            "groups": [groups["Legal"]],
                            "rule": "any",
                            "due_hours": 48,
                            # Overdue requests are escalated to the admin, who is told.
                            "escalate_user_id": str(admin.id),
                        },
                    ),
                    step(
                        "security",
                        "approval",
                        {
                            "groups": [groups["Security"]],
                            "rule": "any",
                            "due_hours": 48,
                            # Overdue requests are escalated to the admin, who is told.
                            "escalate_user_id": str(admin.id),
                        },
                    ),
                ],
                [
                    step("approve", "set_status", {"status": "approved"}),
                    step(
                        "tell_owner",
                        "notify",
                        {
                            "to_owner": True,
                            "subject": "{{ policy.title }} was approved",
                            "body": "Legal and Security approved it. You can publish it now.",
                        },
                    ),
                ],
            ],
        ),
        (
            "Notify on publish",
            "Tell the owner and Compliance when a policy is published.",
            {"type": "policy.status_changed", "from_status": "", "to_status": "published"},
            [
                [
                    step(
                        "announce",
                        "notify",
                        {
                            "to_owner": True,
                            "groups": [groups["Compliance"]],
                            "subject": "{{ policy.title }} is published",
                            "body": "Revision {{ policy.revision }} is now in force.",
                        },
                    )
                ]
            ],
        ),
        (
            "Weekly review-due reminder",
            "Every Monday at 09:00 UTC, remind Compliance to check policies due for review.",
            {"type": "schedule", "cron": "0 9 * * 1"},
            [
                [
                    step(
                        "remind",
                        "create_task",
                        {
                            "title": "Check policies due for review",
                            "assignee": str(users["olivia"].id),
                            "due_days": 2,
                        },
                    )
                ]
            ],
        ),
    ]
    for name, description, trigger, stages in designs:
        workflow_id = workflows.save_workflow(
            None,
            name=name,
            description=description,
            definition={
                "trigger": trigger,
                # The product's default for a new workflow: in "Review on submit", Priya (in
                # Legal and Security) decides one of the two steps, not both.
                "one_step_per_person": True,
                "conditions": [],
                "stages": [{"steps": steps} for steps in stages],
            },
            actor=admin,
        )
        workflows.activate(workflow_id, actor=admin)
    yield f"Created {len(designs)} active workflows."
    submissions = [
        (users["olivia"], "Vendor Access Management", "Security", "vendors, access"),
        (users["omar"], "Use of AI Assistants", "Technology", "ai, data"),
    ]
    for owner, title, category, tags in submissions:
        submitted = policies.create_policy(
            policies.PolicyInput(
                title=title,
                body=_body(title, category),
                category=category,
                owner_id=owner.id,
                tags=tags,
                review_frequency="yearly",
            ),
            actor=owner,
            max_body=current_app.config["POLICY_BODY_MAX_CHARS"],
            summary="First draft",
        )
        policies.transition_policy(submitted, lifecycle.IN_REVIEW, actor=owner)
    # Run the approval steps now (as a consumer would), so the inboxes are full at once.
    _run_queued_steps()
    overdue = _backdate_requests("Use of AI Assistants", hours=53)
    yield (
        "Submitted “Vendor Access Management” and “Use of AI Assistants” for review: Lena, "
        f"Sam and Priya have approval requests in their inboxes ({overdue} overdue)."
    )


def _seed_exceptions(admin, groups: dict[str, int], users: dict) -> Iterator[str]:
    """An "Exception approval" workflow, one exception it approved and one still waiting."""
    from governance.approvals import service as approvals
    from governance.policy_exceptions import service as exceptions

    workflow_id = workflows.save_workflow(
        None,
        name="Exception approval",
        description="Security approves every exception to a published policy.",
        definition={
            "trigger": {"type": "exception.requested"},
            "one_step_per_person": True,
            "conditions": [],
            "stages": [
                {
                    "steps": [
                        {
                            "key": "security",
                            "type": "approval",
                            "config": {"groups": [groups["Security"]], "rule": "any"},
                            "when": None,
                        }
                    ]
                }
            ],
        },
        actor=admin,
    )
    workflows.activate(workflow_id, actor=admin)
    today = utcnow().date()
    requests = [
        (
            "Information Security Policy",
            users["omar"],
            "Legacy payroll server PAY-01 (no disk encryption)",
            "The vendor supports encryption from release 9, due next quarter. Until then the "
            "server sits in an isolated VLAN and is reached only through the jump host.",
            90,
        ),
        (
            "Acceptable Use of IT Systems",
            users["olivia"],
            "Marketing team's shared social media laptop",
            "One laptop is shared by three people for the social accounts while individual "
            "accounts are set up; it is locked in the office overnight.",
            30,
        ),
    ]
    ids = []
    for title, requester, scope, justification, days in requests:
        policy_id = db.session.execute(
            sa.select(Policy.id).where(Policy.title == title)
        ).scalar_one()
        ids.append(
            exceptions.request_exception(
                policy_id,
                exceptions.ExceptionInput(
                    scope=scope,
                    justification=justification,
                    expires_on=today + timedelta(days=days),
                ),
                actor=requester,
                max_days=current_app.config["EXCEPTION_MAX_DAYS"],
            )
        )
    _run_queued_steps()
    # Sam (Security) approves the first; the second waits in Security's inboxes.
    approved = exceptions.get_exception(ids[0])
    request_id = db.session.execute(
        sa.select(ApprovalRequest.id).where(ApprovalRequest.execution_id == approved.execution_id)
    ).scalar_one()
    approvals.record_decision(
        request_id, user=users["sam"], decision="approved", comment="Compensating controls OK."
    )
    yield (
        "Created the “Exception approval” workflow, one active exception (approved by Sam) and "
        "one waiting for Security."
    )


def _run_queued_steps() -> None:
    for step_run_id in db.session.scalars(sa.select(StepRun.id).where(StepRun.status == "queued")):
        execute_step(step_run_id)


def _backdate_requests(title: str, *, hours: int) -> int:
    """Make one demo submission look two days old, so its requests are already overdue."""
    then = utcnow() - timedelta(hours=hours)
    execution_ids = sa.select(Execution.id).join(Policy).where(Policy.title == title)
    db.session.execute(
        sa.update(Execution).where(Execution.id.in_(execution_ids)).values(created_at=then)
    )
    changed = rowcount(
        db.session.execute(
            sa.update(ApprovalRequest)
            .where(ApprovalRequest.execution_id.in_(execution_ids))
            .values(created_at=then, due_at=then + timedelta(hours=48))
        )
    )
    db.session.commit()
    return changed


def _move_to(policy_id: int, status: str, *, owner: User, admin: User) -> None:
    path = {
        lifecycle.DRAFT: [],
        lifecycle.IN_REVIEW: [(lifecycle.IN_REVIEW, owner)],
        lifecycle.APPROVED: [(lifecycle.IN_REVIEW, owner), (lifecycle.APPROVED, admin)],
        lifecycle.PUBLISHED: [
            (lifecycle.IN_REVIEW, owner),
            (lifecycle.APPROVED, admin),
            (lifecycle.PUBLISHED, owner),
        ],
        lifecycle.RETIRED: [
            (lifecycle.IN_REVIEW, owner),
            (lifecycle.APPROVED, admin),
            (lifecycle.PUBLISHED, owner),
            (lifecycle.RETIRED, owner),
        ],
    }[lifecycle.PolicyStatus(status)]
    for target, actor in path:
        reason = (
            "Replaced by the Information Security Policy." if target == lifecycle.RETIRED else ""
        )
        policies.transition_policy(policy_id, target, actor=actor, reason=reason)
