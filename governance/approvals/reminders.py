"""Telling approvers: a new request, a reminder from the requester, an overdue escalation.

Each message goes only to people who may decide: the submitter of a change is never asked to
approve it (four-eyes), not even as a member of the assigned group.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from governance.approvals.models import ApprovalRequest
from governance.audit.service import record_event
from governance.auth.models import Group, User
from governance.auth.service import enabled_user_ids
from governance.dbutil import rowcount
from governance.engine.models import StepRun
from governance.errors import Conflict, DomainError, NotAllowed
from governance.extensions import db
from governance.lookup import get_or_raise
from governance.notifications.service import notify_users
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work

INBOX_LINK = "/approvals"  # the Inbox
REMIND_INTERVAL = timedelta(hours=1)
ESCALATION_BATCH = 500  # steps escalated per reconciler pass


def deciders(requests: list[ApprovalRequest], submitter_id: int | None) -> list[int]:
    """Who may decide these requests: their users and their groups' enabled members."""
    user_ids = [r.assignee_user_id for r in requests if r.assignee_user_id is not None]
    group_ids = [r.assignee_group_id for r in requests if r.assignee_group_id is not None]
    return [uid for uid in enabled_user_ids(user_ids, group_ids) if uid != submitter_id]


def _subject_of(step_run: StepRun) -> str:
    execution = step_run.execution
    policy = execution.policy
    what = f"“{policy.title}”" if policy else f"execution {execution.id}"
    return f"{what} ({execution.workflow.name}, step “{step_run.step_key}”)"


def announce(step_run: StepRun, requests: list[ApprovalRequest]) -> None:
    """Ask the assignees of a new approval step (no commit; exactly once with the step)."""
    recipients = deciders(requests, step_run.execution.actor_id)
    due = requests[0].due_at if requests else None
    notify_users(
        recipients,
        subject=f"Approval requested: {_subject_of(step_run)}",
        body="Please approve or reject it in your Steward inbox"
        + (f" by {due:%d %b %Y %H:%M} UTC." if due else "."),
        link=INBOX_LINK,
        step_run_id=step_run.id,
    )


@unit_of_work()
def remind(request_id: int, *, actor: User) -> datetime:
    """The requester nudges the approvers of a pending request, at most once an hour."""
    request = get_or_raise(ApprovalRequest, request_id, "No such approval request.")
    execution = request.execution
    if actor.id != execution.actor_id and not actor.is_admin:
        raise NotAllowed("Only the person who submitted the change (or an admin) can remind.")
    if request.status != "pending" or execution.is_finished:
        raise Conflict("This request is no longer waiting for a decision.")
    now = utcnow()
    # Conditional: two clicks (or two tabs) at once send one reminder.
    changed = db.session.execute(
        sa.update(ApprovalRequest)
        .where(
            ApprovalRequest.id == request.id,
            ApprovalRequest.status == "pending",
            sa.or_(
                ApprovalRequest.reminded_at.is_(None),
                ApprovalRequest.reminded_at <= now - REMIND_INTERVAL,
            ),
        )
        .values(reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(changed) != 1:
        db.session.refresh(request)  # the reminder that was first, or a decision
        reminded_at = request.reminded_at
        if reminded_at is None:  # decided since the check above, never reminded
            raise Conflict("This request is no longer waiting for a decision.")
        again = reminded_at + REMIND_INTERVAL
        raise DomainError(
            f"A reminder was already sent at {reminded_at:%H:%M} UTC; "
            f"you can remind again after {again:%H:%M} UTC."
        )
    step_run = request.step_run
    notify_users(
        deciders([request], execution.actor_id),
        subject=f"Reminder: your approval is awaited on {_subject_of(step_run)}",
        body=f"{actor.name} is waiting for your decision.",
        link=INBOX_LINK,
    )
    record_event(
        actor_id=actor.id,
        action="approval.reminded",
        object_type="approval_request",
        object_id=request.id,
        summary=f"{actor.name} reminded {request.assignee_label} about step "
        f"“{step_run.step_key}” of execution {execution.id}",
    )
    return now


def escalate(step_run_id: int, now: datetime) -> int:
    """Mark a step's overdue requests once; tell the escalation target (and maybe add it).

    One conditional UPDATE marks every overdue pending request of the step, with whom it was
    escalated to: a second reconciler running at the same moment finds nothing left to mark
    and sends nothing. Each escalation leaves an audit event, also one with no target to
    tell (the workflow page warns about those steps). Returns how many were marked (no commit).
    """
    step_run = db.session.get_one(StepRun, step_run_id)
    execution = step_run.execution
    config = execution.version.find_step(step_run.step_key)["config"]
    target_user, target_group = config.get("escalate_user_id"), config.get("escalate_group_id")
    target = escalation_target_label(target_user, target_group)
    marked = db.session.execute(
        sa.update(ApprovalRequest)
        .where(
            ApprovalRequest.step_run_id == step_run_id,
            ApprovalRequest.status == "pending",
            ApprovalRequest.due_at < now,
            ApprovalRequest.escalated_at.is_(None),
        )
        .values(escalated_at=now, escalated_to=target)
        .execution_options(synchronize_session=False)
    )
    if not rowcount(marked):
        return 0
    record_event(
        actor_id=None,
        action="approval.escalated",
        object_type="execution",
        object_id=execution.id,
        summary=f"Step “{step_run.step_key}” of execution {execution.id} was overdue: "
        + (f"escalated to {target}" if target else "it has no escalation target, nobody was told"),
        changes={"escalated_to": {"before": None, "after": target}},
    )
    if target is None:
        return rowcount(marked)
    added = config.get("escalate_adds_approvers") and _add_escalation_approver(
        step_run, target_user, target_group, now, target
    )
    notify_users(
        [
            uid
            for uid in enabled_user_ids(
                [target_user] if target_user else [], [target_group] if target_group else []
            )
            if uid != execution.actor_id
        ],
        subject=f"Overdue approval: {_subject_of(step_run)}",
        body="This approval is past its due time and was escalated to you."
        + (" You have been added as an approver." if added else ""),
        link=INBOX_LINK if added else f"/executions/{execution.id}",
    )
    return rowcount(marked)


def escalation_target_label(user_id: int | None, group_id: int | None) -> str | None:
    """The escalation target's name ("Security", "Ada Admin"), or None when there is none."""
    names = []
    if user_id and (user := db.session.get(User, user_id)) is not None:
        names.append(user.name)
    if group_id and (group := db.session.get(Group, group_id)) is not None:
        names.append(group.name)
    return " and ".join(names)[:200] or None


def steps_without_escalation_target(definition: dict) -> list[str]:
    """Keys of the approval steps that have a deadline but nobody to escalate to."""
    return [
        step["key"]
        for stage in definition.get("stages", [])
        for step in stage.get("steps", [])
        if step.get("type") == "approval"
        and float(step.get("config", {}).get("due_hours") or 0) > 0
        and not (step["config"].get("escalate_user_id") or step["config"].get("escalate_group_id"))
    ]


def _add_escalation_approver(step_run: StepRun, user_id, group_id, now, target) -> bool:
    already = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ApprovalRequest)
        .where(
            ApprovalRequest.step_run_id == step_run.id,
            ApprovalRequest.assignee_user_id.is_not_distinct_from(user_id),
            ApprovalRequest.assignee_group_id.is_not_distinct_from(group_id),
        )
    )
    if already:
        return False
    db.session.add(
        ApprovalRequest(
            step_run_id=step_run.id,
            execution_id=step_run.execution_id,
            assignee_user_id=user_id,
            assignee_group_id=group_id,
            escalated_at=now,
            escalated_to=target,
        )
    )
    return True


def escalate_overdue(now: datetime) -> int:
    """The reconciler's sweep: steps with past-due requests are escalated once (see escalate)."""
    overdue_steps = db.session.scalars(
        sa.select(ApprovalRequest.step_run_id)
        .where(
            ApprovalRequest.status == "pending",
            ApprovalRequest.due_at < now,
            ApprovalRequest.escalated_at.is_(None),
        )
        .distinct()
        .limit(ESCALATION_BATCH)
    ).all()
    return sum(escalate(step_run_id, now) for step_run_id in overdue_steps)
