"""Exceptions to a policy: requested, approved by a workflow, time-boxed, revoked."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """An exception's approval execution settles it; a retired policy ends its exceptions;
    who may read an exception may read it in links and in its approval execution."""
    from governance import events, visibility
    from governance.engine.events import ExecutionFinished
    from governance.policies.events import PolicyStatusChanged
    from governance.policy_exceptions import service
    from governance.policy_exceptions.models import APPROVAL_TRIGGER, PolicyException
    from governance.policy_exceptions.visibility import (
        can_read_approval_subject,
        can_read_exception,
    )

    visibility.register_path_object("exception_id", PolicyException, can_read_exception)
    visibility.register_subject_rule(APPROVAL_TRIGGER, can_read_approval_subject)

    events.subscribe(ExecutionFinished, service.settle_on_execution_finished)
    events.subscribe(PolicyStatusChanged, service.revoke_on_policy_retired)
