"""Who may read a human task: its assignee, any member of its group, or an admin."""

from __future__ import annotations

from governance.auth.models import User
from governance.auth.service import group_ids_of
from governance.tasks.models import Task


def can_read_task(user: User, task: Task) -> bool:
    """The assignee, any member of the assignee group, or an admin (who may also close it)."""
    if task.assignee_id == user.id or user.is_admin:
        return True
    return task.assignee_group_id is not None and task.assignee_group_id in group_ids_of(user)
