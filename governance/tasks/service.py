"""Tasks for people: a user's open and done lists, and marking a task done (once)."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.audit.service import record_event
from governance.auth.models import User
from governance.errors import Conflict, NotAllowed
from governance.extensions import db
from governance.lookup import get_or_raise
from governance.policies.models import Policy
from governance.tasks.models import Task
from governance.timeutil import utcnow

TABS = ("open", "done")


def task_list_statement(user_id: int, *, done: bool) -> sa.Select:
    """A user's open tasks by due date (undated last), or done tasks, latest first."""
    statement = sa.select(Task).where(Task.assignee_id == user_id)
    statement = statement.options(
        so.joinedload(Task.policy).load_only(Policy.id, Policy.title).lazyload(Policy.owner)
    )
    if done:
        return statement.where(Task.done_at.is_not(None)).order_by(
            Task.done_at.desc(), Task.id.desc()
        )
    return statement.where(Task.done_at.is_(None)).order_by(
        Task.due_on.is_(None), Task.due_on, Task.id
    )


def get_task(task_id: int) -> Task:
    return get_or_raise(Task, task_id, "No such task.")


def can_complete(user: User, task: Task) -> bool:
    return task.assignee_id == user.id or user.is_admin


def complete_task(task_id: int, *, actor: User) -> Task:
    """Mark a task done, with its audit event. Only its assignee or an admin; only once."""
    task = get_task(task_id)
    if not can_complete(actor, task):
        raise NotAllowed("Only the person the task is assigned to (or an admin) can mark it done.")
    # Conditional: of two clicks (or two people) at once, exactly one marks it done.
    changed = db.session.execute(
        sa.update(Task)
        .where(Task.id == task.id, Task.done_at.is_(None))
        .values(done_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        db.session.rollback()
        raise Conflict("This task is already done.")
    record_event(
        actor_id=actor.id,
        action="task.done",
        object_type="task",
        object_id=task.id,
        summary=f"{actor.name} marked task “{task.title}” done",
    )
    db.session.commit()
    return task
