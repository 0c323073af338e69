"""Exceptions to a policy: requested, approved by a workflow, time-boxed, revoked."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """An exception's approval execution settles it; a retired policy ends its exceptions;
    who may read an exception may read it in links and in its approval execution; the
    exception.requested trigger; the exception kind of notification."""
    from governance import events, visibility
    from governance.engine.events import ExecutionFinished
    from governance.engine.triggers import TriggerType, register_trigger
    from governance.notifications.kinds import register_kind
    from governance.policies.events import PolicyStatusChanged
    from governance.policy_exceptions import service
    from governance.policy_exceptions.models import APPROVAL_TRIGGER, PolicyException
    from governance.policy_exceptions.notification_kind import EXCEPTION_NOTIFICATIONS
    from governance.policy_exceptions.visibility import (
        can_read_approval_subject,
        can_read_exception,
    )

    visibility.register_path_object("exception_id", PolicyException, can_read_exception)
    register_kind(EXCEPTION_NOTIFICATIONS)
    visibility.register_subject_rule(APPROVAL_TRIGGER, can_read_approval_subject)

    events.subscribe(ExecutionFinished, service.settle_on_execution_finished)
    events.subscribe(PolicyStatusChanged, service.revoke_on_policy_retired)
    # Fired by service.request_exception, which needs a workflow to approve the exception.
    fields = ("policy_id", "exception_id", "actor_id", "scope", "expires_on")
    register_trigger(
        TriggerType(service.TRIGGER, "Exception requested", position=80, data_fields=fields)
    )
