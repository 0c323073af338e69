"""Tasks for people: the open and done lists of a user and their groups, and marking a task
done (once), which lets a workflow step that waits for it go on."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.audit.service import diff_fields, record_event
from governance.auth.models import Group, User, group_members
from governance.dbutil import rowcount
from governance.engine import advance
from governance.engine.models import Execution, StepRun, Workflow
from governance.errors import Conflict, DomainError, NotFound
from governance.extensions import db
from governance.lookup import get_or_raise
from governance.policies.models import Policy
from governance.tasks import visibility
from governance.tasks.models import Task
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work
from governance.web.pagination import LAST_PAGE, Page

TABS = ("open", "done")
NOTE_MAX = 2000


@dataclass(frozen=True)
class TabCounts:
    open: int
    done: int


def _visible_to(user_id: int) -> sa.ColumnElement[bool]:
    """Tasks for this user, or for a group they belong to (membership read in the same query)."""
    my_groups = sa.select(group_members.c.group_id).where(group_members.c.user_id == user_id)
    return sa.or_(Task.assignee_id == user_id, Task.assignee_group_id.in_(my_groups))


def task_list_statement(user_id: int, *, done: bool) -> sa.Select:
    """A user's (and their groups') open tasks by due date, undated last; or the done ones,
    latest first. Everything a row shows is joined in, so a page costs the same whatever
    the number of tasks on it."""
    statement = (
        sa.select(Task)
        .where(_visible_to(user_id))
        .options(
            # What the row's links need: the title, and what decides who may read them.
            so.joinedload(Task.policy)
            .load_only(Policy.id, Policy.title, Policy.status, Policy.published_revision)
            .lazyload(Policy.owner),
            so.joinedload(Task.assignee_group).load_only(Group.id, Group.name),
            so.joinedload(Task.step_run)
            .load_only(StepRun.id, StepRun.execution_id)
            .joinedload(StepRun.execution)
            .load_only(
                Execution.id,
                Execution.status,
                Execution.workflow_id,
                Execution.policy_id,
                Execution.trigger_type,
            )
            .joinedload(Execution.workflow)
            .load_only(Workflow.id, Workflow.name),
        )
    )
    if done:
        return (
            statement.where(Task.done_at.is_not(None))
            .options(so.joinedload(Task.done_by).load_only(User.id, User.name))
            .order_by(Task.done_at.desc(), Task.id.desc())
        )
    return statement.where(Task.done_at.is_(None)).order_by(
        Task.due_on.is_(None), Task.due_on, Task.id
    )


def tab_counts(user_id: int) -> TabCounts:
    """Open and done counts for the tabs, in one query."""
    row = db.session.execute(
        sa.select(
            sa.func.count().filter(Task.done_at.is_(None)),
            sa.func.count().filter(Task.done_at.is_not(None)),
        ).where(_visible_to(user_id))
    ).one()
    return TabCounts(open=row[0] or 0, done=row[1] or 0)


def task_page(user_id: int, *, done: bool, page: int, per_page: int) -> tuple[Page, TabCounts]:
    """One page of the open or done list, and both tab counts: two queries in all (the tab
    count doubles as the page's total, so no separate count is needed)."""
    counts = tab_counts(user_id)
    total = counts.done if done else counts.open
    if page == LAST_PAGE:
        page = max(1, math.ceil(total / per_page))
    items = list(
        db.session.scalars(
            task_list_statement(user_id, done=done).limit(per_page).offset((page - 1) * per_page)
        ).unique()
    )
    return Page(items, page, per_page, total, total_is_exact=True), counts


def overdue_days(task: Task, today: date) -> int:
    """How many days past its due date an open task is (0 when it is not overdue)."""
    if task.done_at is not None or task.due_on is None or task.due_on >= today:
        return 0
    return (today - task.due_on).days


def get_task(task_id: int) -> Task:
    return get_or_raise(Task, task_id, "No such task.")


def get_task_for(task_id: int, user: User) -> Task:
    """The task if this user may read it, and so mark it done; otherwise 404 (someone else's
    task does not exist for them)."""
    task = db.session.get(Task, task_id)
    if task is None or not visibility.can_read_task(user, task):
        raise NotFound("No such task.")
    return task


def check_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise DomainError(
            f"The note must be at most {NOTE_MAX:,} characters (it has {len(note):,}).",
            field="note",
        )
    return note


def complete_task(task_id: int, *, actor: User, note: str = "") -> Task:
    """Mark a task done with an optional note, with its audit event, in one transaction.

    Only its assignee, a member of its group, or an admin; only once. If a workflow step
    waits for the task, that step succeeds in the same transaction and the execution moves
    on (its next stage is enqueued after the commit). A step whose execution has ended is
    left alone: the task is still done, the execution is not touched.
    """
    with unit_of_work():
        task = get_task_for(task_id, actor)
        note = check_note(note)
        # Conditional: of two clicks (or two people) at once, exactly one marks it done.
        changed = db.session.execute(
            sa.update(Task)
            .where(Task.id == task.id, Task.done_at.is_(None))
            .values(done_at=utcnow(), done_by_id=actor.id, done_note=note or None)
            .execution_options(synchronize_session=False)
        )
        if rowcount(changed) != 1:
            raise Conflict("This task is already done.")
        record_event(
            actor_id=actor.id,
            action="task.done",
            object_type="task",
            object_id=task.id,
            summary=f"{actor.name} marked task “{task.title}” done",
            changes=diff_fields({}, {"done_note": note}) if note else None,
        )
        if task.blocks_step and task.step_run_id is not None:
            # Only a step still parked moves (a conditional UPDATE on status='waiting'); a step
            # of a cancelled or finished execution was closed with it, so nothing happens there.
            advance.complete_waiting_step(
                task.step_run_id, {"task_id": task.id, "done_by": actor.id, "note": note}
            )
    db.session.refresh(task)
    return task
