"""Who may decide an approval request, and why not: four-eyes over everyone who wrote the
change, and one person counting once per step whatever groups and delegations they hold.

One person, one say per step: whoever decided one request of a step (their own, a group's
or one delegated to them) decides no other request of that step. Someone asked by name in
a step decides that request, not a group's request of the same step (their group's other
members decide that one). The rules then count distinct people (see service._settle_step).

Across steps: when the workflow's version says one person decides at most one approval step
of an execution, or a step is "distinct from the approvers of step X", whoever decided one
of the steps kept apart decides no request of the other (definition.steps_kept_apart).
"""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa

from governance.approvals.models import ApprovalRequest
from governance.auth.models import User, group_members
from governance.engine.definition import steps_kept_apart
from governance.engine.models import Execution, StepRun
from governance.errors import Conflict, DomainError, NotAllowed
from governance.extensions import db
from governance.policies import versions

DECIDED = ("approved", "rejected")
# A step's live requests: cancelled and expired ones no longer count either way.
LIVE = ("pending", *DECIDED)

ALREADY_DECIDED_STEP = (
    "You already decided this step: one person counts once per step, whatever groups or "
    "delegations they hold."
)
WROTE_CHANGE = (
    "You wrote part of this change (a revision since the last published version), so you "
    "cannot decide on it (four-eyes rule)."
)
TRIGGERED = "You triggered this change, so you cannot decide on it (four-eyes rule)."
ONE_STEP_PER_PERSON = (
    "You already decided step “{step}” of this execution: in this workflow one person decides "
    "at most one approval step."
)
DISTINCT_FROM = (
    "You decided step “{step}” of this execution, and this step's approvers must be different "
    "people from that step's."
)
ASKED_BY_NAME = (
    "You are asked by name in this step: decide that request; this one is for the group's "
    "other members."
)


def is_assignee(user: User, request: ApprovalRequest) -> bool:
    if request.assignee_user_id is not None:
        return request.assignee_user_id == user.id
    return any(group.id == request.assignee_group_id for group in user.groups)


def is_about_content(execution: Execution) -> bool:
    """Does the execution decide on a policy's content? An exception's approval is about the
    exception (its requester triggered it), not about the policy's text."""
    return execution.policy_id is not None and execution.trigger_type != "exception.requested"


def change_authors(execution: Execution) -> set[int]:
    """Who wrote the change this execution decides on (none for an exception's approval)."""
    if not is_about_content(execution):
        return set()
    return versions.change_authors(execution.policy)


def barred_ids(execution: Execution, authors: set[int]) -> set[int]:
    """Nobody who triggered the execution or wrote part of its change decides on it."""
    return authors | ({execution.actor_id} if execution.actor_id else set())


def step_requests(step_run_id: int) -> list[ApprovalRequest]:
    """Every live request of a step, read fresh (conditional UPDATEs bypass the identity map)."""
    return list(
        db.session.scalars(
            sa.select(ApprovalRequest)
            .where(ApprovalRequest.step_run_id == step_run_id, ApprovalRequest.status.in_(LIVE))
            .order_by(ApprovalRequest.id)
            .execution_options(populate_existing=True)
        )
    )


def kept_apart(request: ApprovalRequest) -> set[str]:
    """The keys of the approval steps whose deciders may not decide this request's step."""
    return steps_kept_apart(request.execution.version.definition, request.step_run.step_key)


def decided_steps(user_id: int, execution_ids: set[int]) -> dict[int, set[str]]:
    """{execution id: keys of the steps this user decided a request of}, in one query."""
    decided: dict[int, set[str]] = {execution_id: set() for execution_id in execution_ids}
    if execution_ids:
        for execution_id, step_key in db.session.execute(
            sa.select(ApprovalRequest.execution_id, StepRun.step_key)
            .join(StepRun, StepRun.id == ApprovalRequest.step_run_id)
            .where(
                ApprovalRequest.execution_id.in_(execution_ids),
                ApprovalRequest.decided_by_id == user_id,
                ApprovalRequest.status.in_(DECIDED),
            )
        ):
            decided[execution_id].add(step_key)
    return decided


def refusal(
    user: User,
    request: ApprovalRequest,
    *,
    peers: list[ApprovalRequest],
    authors: set[int],
    decided: set[str],
) -> DomainError | None:
    """Why this user may not decide this request now, or None if they may.

    `peers` are the step's requests (this one may be among them), `authors` the change's
    authors, `decided` the keys of the execution's steps this user decided: passed in so the
    inbox checks a whole page with the queries it already made.
    """
    execution = request.execution
    if execution.actor_id == user.id:
        return NotAllowed(TRIGGERED)
    if user.id in authors:
        return NotAllowed(WROTE_CHANGE)
    if not is_assignee(user, request):
        return NotAllowed("This approval request is not assigned to you or your groups.")
    if execution.is_finished:
        return Conflict(f"This execution has already ended ({execution.status}).")
    if request.status != "pending":
        return Conflict(closed_message(request.status))
    others = [peer for peer in peers if peer.id != request.id]
    if any(peer.decided_by_id == user.id and peer.status in DECIDED for peer in others):
        return Conflict(ALREADY_DECIDED_STEP)
    if clash := sorted(decided & kept_apart(request)):
        message = (
            ONE_STEP_PER_PERSON
            if execution.version.definition.get("one_step_per_person")
            else DISTINCT_FROM
        )
        return Conflict(message.format(step=clash[0]))
    if request.assignee_user_id is None and any(
        peer.assignee_user_id == user.id and peer.status == "pending" for peer in others
    ):
        return Conflict(ASKED_BY_NAME)
    return None


def why_not(user: User, request: ApprovalRequest) -> DomainError | None:
    """refusal() with the step's requests, the change's authors and the steps this user
    decided read from the database."""
    return refusal(
        user,
        request,
        peers=step_requests(request.step_run_id),
        authors=change_authors(request.execution),
        decided=decided_steps(user.id, {request.execution_id})[request.execution_id],
    )


def closed_message(status: str | None) -> str:
    if status == "cancelled":
        return "This request is closed: the step was already decided by other approvers."
    return "This request has already been decided."


def covered_request_ids(rows: list[ApprovalRequest], barred: set[int]) -> set[int]:
    """Pending requests that nobody can still decide because everyone who could (its user,
    or its group's active members, less the barred) already counted in this step.

    Under "every assignee approves" such a request is covered by those people's decisions:
    otherwise a step whose only remaining assignee already decided could never finish. A
    request nobody could ever decide (an empty group) is not covered: it waits for an admin.
    """
    deciders = {row.decided_by_id for row in rows if row.status in DECIDED}
    pending = [row for row in rows if row.status == "pending"]
    if not deciders or not pending:
        return set()
    group_ids = {row.assignee_group_id for row in pending if row.assignee_group_id is not None}
    members: dict[int, set[int]] = {group_id: set() for group_id in group_ids}
    if group_ids:
        for group_id, user_id in db.session.execute(
            sa.select(group_members.c.group_id, group_members.c.user_id)
            .join(User, User.id == group_members.c.user_id)
            .where(group_members.c.group_id.in_(group_ids), User.is_enabled.is_(True))
        ):
            members[group_id].add(user_id)
    covered = set()
    for row in pending:
        people = (
            {row.assignee_user_id}
            if row.assignee_user_id is not None
            else members[cast(int, row.assignee_group_id)]  # a user or a group (CHECK)
        ) - barred
        if people and people <= deciders:
            covered.add(row.id)
    return covered
