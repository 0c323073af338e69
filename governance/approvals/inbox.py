"""The approver's inbox: which requests each tab holds, their counts, and what an item shows.

A page costs the same few queries whatever the number of requests: the tab counts in one
statement, the page of requests with everything they show joined in, then the other
approvers of those steps, the revisions to compare, the authors of those changes (for
four-eyes) and the steps of those executions the viewer decided, each in one more query.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.approvals import eligibility
from governance.approvals.models import ApprovalDelegation, ApprovalRequest
from governance.auth.models import User, group_members
from governance.engine.models import Execution, StepRun, Workflow
from governance.errors import DomainError
from governance.extensions import db
from governance.policies import diffing, versions
from governance.policies.models import Policy, PolicyRevision
from governance.policies.service import list_categories
from governance.timeutil import utcnow
from governance.web.pagination import Page, paginate

TABS = {
    "waiting": "Waiting for me",
    "overdue": "Overdue",
    "delegated": "Delegated by me",
    "decided": "Decided",
}
DUE_FILTERS = {
    "": "Any time",
    "overdue": "Overdue",
    "day": "Due within 24 hours",
    "week": "Due within 7 days",
    "none": "No deadline",
}
SORTS = {"due": "Due first", "newest": "Newest first", "oldest": "Oldest first"}
OPEN_EXECUTION = ("running", "waiting")


@dataclass
class InboxQuery:
    tab: str = "waiting"
    workflow_id: int | None = None
    category: str = ""
    due: str = ""
    sort: str = "due"

    def __post_init__(self) -> None:
        # Unknown values from the address bar fall back to the defaults instead of failing.
        self.tab = self.tab if self.tab in TABS else "waiting"
        self.due = self.due if self.due in DUE_FILTERS else ""
        self.sort = self.sort if self.sort in SORTS else "due"
        self.category = (self.category or "").strip()[:80]

    @property
    def is_filtered(self) -> bool:
        return bool(self.workflow_id or self.category or self.due)


def _my_groups(user_id: int) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(group_members.c.group_id).where(group_members.c.user_id == user_id)
        )
    )


def _assigned_to(user_id: int) -> sa.ColumnElement[bool]:
    # The group ids go in as values, not as a subquery: "user = x OR group IN (1, 2)" lets
    # PostgreSQL combine its two assignee indexes, where "OR group IN (SELECT ...)" made it
    # read every approval request.
    groups = _my_groups(user_id)
    if not groups:
        return ApprovalRequest.assignee_user_id == user_id
    return sa.or_(
        ApprovalRequest.assignee_user_id == user_id,
        ApprovalRequest.assignee_group_id.in_(groups),
    )


def waiting_condition(user_id: int) -> sa.ColumnElement[bool]:
    """Pending, on an execution still open, assigned to me or my groups, not my own change."""
    return sa.and_(
        ApprovalRequest.status == "pending",
        _assigned_to(user_id),
        ApprovalRequest.execution_id.in_(
            sa.select(Execution.id).where(
                Execution.status.in_(OPEN_EXECUTION),
                Execution.actor_id.is_distinct_from(user_id),
            )
        ),
    )


def _tab_condition(tab: str, user_id: int, now: datetime) -> sa.ColumnElement[bool]:
    if tab == "overdue":
        return sa.and_(waiting_condition(user_id), ApprovalRequest.due_at < now)
    if tab == "delegated":
        return ApprovalRequest.id.in_(
            sa.select(ApprovalDelegation.request_id).where(
                ApprovalDelegation.from_user_id == user_id
            )
        )
    if tab == "decided":
        return ApprovalRequest.decided_by_id == user_id
    return waiting_condition(user_id)


def tab_counts(user_id: int) -> dict[str, int]:
    """Every tab's count in one statement; waiting and overdue in one pass over the requests."""
    now = utcnow()
    waiting = (
        sa.select(
            sa.func.count().label("waiting"),
            sa.func.count().filter(ApprovalRequest.due_at < now).label("overdue"),
        )
        .where(waiting_condition(user_id))
        .subquery()
    )
    others = [
        sa.select(sa.func.count())
        .select_from(ApprovalRequest)
        .where(_tab_condition(tab, user_id, now))
        .scalar_subquery()
        .label(tab)
        for tab in ("delegated", "decided")
    ]
    row = db.session.execute(sa.select(waiting.c.waiting, waiting.c.overdue, *others)).one()
    return {tab: row._mapping[tab] for tab in TABS}


def waiting_count(user_id: int) -> int:
    """For the navigation badge."""
    return db.session.execute(
        sa.select(sa.func.count()).select_from(ApprovalRequest).where(waiting_condition(user_id))
    ).scalar_one()


def _with_item_loads(statement: sa.Select) -> sa.Select:
    """Joined in one query: everything an inbox item shows of its request."""
    return (
        statement.join(ApprovalRequest.execution)
        .outerjoin(Execution.policy)
        .options(
            so.contains_eager(ApprovalRequest.execution).options(
                so.joinedload(Execution.workflow),
                so.joinedload(Execution.actor),
                # The definition says which steps are kept apart (eligibility).
                so.joinedload(Execution.version),
            ),
            so.contains_eager(ApprovalRequest.execution, Execution.policy).joinedload(Policy.owner),
            so.joinedload(ApprovalRequest.step_run).load_only(
                StepRun.id, StepRun.step_key, StepRun.status
            ),
            so.joinedload(ApprovalRequest.assignee_user),
            so.joinedload(ApprovalRequest.assignee_group),
            so.joinedload(ApprovalRequest.decided_by),
            so.selectinload(ApprovalRequest.delegations).options(
                so.joinedload(ApprovalDelegation.from_user),
                so.joinedload(ApprovalDelegation.to_user),
            ),
        )
    )


def list_statement(query: InboxQuery, user_id: int) -> sa.Select:
    now = utcnow()
    statement = _with_item_loads(sa.select(ApprovalRequest)).where(
        _tab_condition(query.tab, user_id, now)
    )
    if query.workflow_id:
        statement = statement.where(Execution.workflow_id == query.workflow_id)
    if query.category:
        statement = statement.where(Policy.category == query.category)
    statement = statement.where(*_due_conditions(query.due, now))
    return statement.order_by(*_order(query))


def id_statement(query: InboxQuery, user_id: int) -> sa.Select:
    """The ids list_statement would list, in its order, from approval_requests alone (joined
    to executions and policies only to filter by workflow or category)."""
    now = utcnow()
    statement = sa.select(ApprovalRequest.id).where(_tab_condition(query.tab, user_id, now))
    if query.workflow_id or query.category:
        statement = statement.join(ApprovalRequest.execution)
    if query.workflow_id:
        statement = statement.where(Execution.workflow_id == query.workflow_id)
    if query.category:
        statement = statement.join(Execution.policy).where(Policy.category == query.category)
    statement = statement.where(*_due_conditions(query.due, now))
    return statement.order_by(*_order(query))


def page_of_requests(
    query: InboxQuery, user_id: int, *, page: int, per_page: int, counts: dict[str, int]
) -> Page:
    """One page of the inbox: its ids first, then those requests with everything they show.

    In two steps because PostgreSQL joins before it sorts: one statement sorted every waiting
    request (2,000 for a busy approver) with all its joins to keep 25 of them. `counts` are
    the user's tab_counts().
    """
    # Unfiltered, the tab's count (tab_counts) is the list's length: no second count.
    total = None if query.is_filtered else counts[query.tab]
    ids = paginate(id_statement(query, user_id), page=page, per_page=per_page, total=total)
    if not ids.items:
        return ids
    loaded = {
        request.id: request
        for request in db.session.scalars(
            _with_item_loads(sa.select(ApprovalRequest)).where(ApprovalRequest.id.in_(ids.items))
        ).unique()
    }
    return replace(ids, items=[loaded[key] for key in ids.items if key in loaded])


def _due_conditions(due: str, now: datetime) -> list[sa.ColumnElement[bool]]:
    if due == "overdue":
        return [ApprovalRequest.due_at < now]
    if due == "day":
        return [ApprovalRequest.due_at >= now, ApprovalRequest.due_at < now + timedelta(days=1)]
    if due == "week":
        return [ApprovalRequest.due_at >= now, ApprovalRequest.due_at < now + timedelta(days=7)]
    if due == "none":
        return [ApprovalRequest.due_at.is_(None)]
    return []


def _order(query: InboxQuery) -> list:
    if query.tab == "decided":
        return [ApprovalRequest.decided_at.desc(), ApprovalRequest.id.desc()]
    if query.sort == "newest":
        return [ApprovalRequest.created_at.desc(), ApprovalRequest.id.desc()]
    if query.sort == "oldest":
        return [ApprovalRequest.created_at, ApprovalRequest.id]
    return [ApprovalRequest.due_at.is_(None), ApprovalRequest.due_at, ApprovalRequest.id]


# ---------------------------------------------------------------- what an item shows


@dataclass
class InboxItem:
    request: ApprovalRequest
    peers: list[ApprovalRequest] = field(default_factory=list)
    revision: PolicyRevision | None = None
    published: PolicyRevision | None = None
    # Why the viewer may not decide it ("You already decided this step", four-eyes, ...).
    refusal: DomainError | None = None

    @property
    def decidable(self) -> bool:
        return self.refusal is None

    @property
    def execution(self) -> Execution:
        return self.request.execution

    @property
    def policy(self) -> Policy | None:
        return self.request.execution.policy

    @property
    def diff(self) -> list[diffing.DiffRow]:
        """The change under review: the last published text against the text submitted."""
        if self.revision is None:
            return []
        before = self.published.body if self.published else ""
        return diffing.side_by_side(before, self.revision.body)

    @property
    def title_changed(self) -> bool:
        return bool(
            self.published and self.revision and self.published.title != self.revision.title
        )


def build_items(requests: list[ApprovalRequest], viewer: User) -> list[InboxItem]:
    """Attach the other approvers, the two revisions to compare and whether the viewer may
    decide (eligibility, from the same peers, the authors of every change and the steps the
    viewer decided): four queries per page."""
    items = [InboxItem(request) for request in requests]
    if not items:
        return items
    step_ids = {item.request.step_run_id for item in items}
    peers: dict[int, list[ApprovalRequest]] = {}
    for peer in db.session.scalars(
        sa.select(ApprovalRequest)
        .where(ApprovalRequest.step_run_id.in_(step_ids))
        .options(
            so.joinedload(ApprovalRequest.assignee_user),
            so.joinedload(ApprovalRequest.assignee_group),
            so.joinedload(ApprovalRequest.decided_by),
        )
        .order_by(ApprovalRequest.id)
    ):
        peers.setdefault(peer.step_run_id, []).append(peer)
    keys = {}
    for item in items:
        item.peers = [p for p in peers.get(item.request.step_run_id, []) if p.id != item.request.id]
        keys[item.request.id] = _revision_keys(item) or (None, None)
    revisions = _load_revisions({key for pair in keys.values() for key in pair if key})
    about_content = {
        item.request.id for item in items if eligibility.is_about_content(item.execution)
    }
    # An execution about content has a policy (is_about_content), so its policy_id is set.
    authors = versions.change_authors_of(
        {cast(int, item.execution.policy_id) for item in items if item.request.id in about_content}
    )
    decided = eligibility.decided_steps(viewer.id, {item.request.execution_id for item in items})
    for item in items:
        submitted, published = keys[item.request.id]
        item.revision = revisions.get(submitted)
        item.published = revisions.get(published)
        item.refusal = eligibility.refusal(
            viewer,
            item.request,
            peers=[
                p for p in peers.get(item.request.step_run_id, []) if p.status in eligibility.LIVE
            ],
            authors=authors[cast(int, item.execution.policy_id)]
            if item.request.id in about_content
            else set(),
            decided=decided[item.request.execution_id],
        )
    return items


def _revision_keys(item: InboxItem) -> tuple:
    """(policy id, revision at trigger time) and (policy id, last published revision)."""
    policy = item.policy
    # An exception request asks about the exception (shown on its own), not a content change.
    if policy is None or item.execution.trigger_type == "exception.requested":
        return ()
    submitted = (item.execution.trigger_data or {}).get("revision") or policy.current_revision
    published = policy.published_revision
    if published is not None and published >= submitted:
        published = None  # nothing published before this change to compare with
    return (policy.id, submitted), (policy.id, published)


def _load_revisions(keys: set[tuple]) -> dict[tuple, PolicyRevision]:
    keys = {key for key in keys if key[1] is not None}
    if not keys:
        return {}
    rows = db.session.scalars(
        sa.select(PolicyRevision).where(
            sa.or_(
                *(
                    sa.and_(PolicyRevision.policy_id == pid, PolicyRevision.number == number)
                    for pid, number in keys
                )
            )
        )
    )
    return {(row.policy_id, row.number): row for row in rows}


def workflow_choices() -> list[tuple[int, str]]:
    return list(db.session.execute(sa.select(Workflow.id, Workflow.name).order_by(Workflow.name)))


def category_choices() -> list[str]:
    return list_categories()  # a skip scan over the category index, not a DISTINCT over all


def due_label(due_at: datetime | None, now: datetime | None = None) -> str:
    """ "due in 3 h", "overdue by 2 d": the largest whole unit, as approvers read it."""
    if due_at is None:
        return "no deadline"
    delta = due_at - (now or utcnow())
    seconds = abs(delta.total_seconds())
    if seconds >= 86400:
        amount = f"{int(seconds // 86400)} d"
    elif seconds >= 3600:
        amount = f"{int(seconds // 3600)} h"
    else:
        amount = f"{max(1, int(seconds // 60))} min"
    return f"due in {amount}" if delta.total_seconds() >= 0 else f"overdue by {amount}"
