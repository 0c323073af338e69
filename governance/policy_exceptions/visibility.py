"""Who may read an exception, and so the subject of the execution that approves it."""

from __future__ import annotations

from governance.auth.models import User
from governance.engine.models import Execution
from governance.policies.visibility import READ_ALL_ROLES
from governance.policy_exceptions.models import PolicyException


def can_read_exceptions(user: User) -> bool:
    return user.has_role(*READ_ALL_ROLES)


def can_read_exception(user: User, exception: PolicyException) -> bool:
    return can_read_exceptions(user)


def can_read_approval_subject(user: User, execution: Execution) -> bool:
    """An exception's approval execution shows the exception (its scope, its justification)."""
    return can_read_exceptions(user)
