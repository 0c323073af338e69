"""Workflow definitions, their immutable versions, and the designer."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """The manual trigger (the Run button, service.run_workflow) and the inbound webhook
    trigger (inbound.trigger_from_webhook): each starts one workflow, given by its caller."""
    from governance.engine.triggers import TriggerType, register_trigger

    register_trigger(TriggerType("manual", "Manual (Run button)", data_fields=None))
    register_trigger(TriggerType("webhook", "Inbound webhook", data_fields=None))
