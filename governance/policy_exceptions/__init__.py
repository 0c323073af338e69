"""Exceptions to a policy: requested, approved by a workflow, time-boxed, revoked."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """An exception's approval execution settles it; a retired policy ends its exceptions; the
    exception.requested trigger."""
    from governance import events
    from governance.engine.events import ExecutionFinished
    from governance.engine.triggers import TriggerType, register_trigger
    from governance.policies.events import PolicyStatusChanged
    from governance.policy_exceptions import service

    events.subscribe(ExecutionFinished, service.settle_on_execution_finished)
    events.subscribe(PolicyStatusChanged, service.revoke_on_policy_retired)
    # Fired by service.request_exception, which needs a workflow to approve the exception.
    fields = ("policy_id", "exception_id", "actor_id", "scope", "expires_on")
    register_trigger(TriggerType(service.TRIGGER, "Exception requested", data_fields=fields))
