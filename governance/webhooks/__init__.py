"""Webhooks: the outbound webhook step, its destination checks and HTTP delivery, Standard
Webhooks signing, and which of a workflow's secrets sign a delivery. It imports no workflow
code: the designer imports it (reading and rotating the secret is workflows/signing_secret.py)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """The outbound webhook step type, and the inbound webhook trigger (a signed request to a
    workflow's hook URL starts that workflow: workflows/inbound.trigger_from_webhook)."""
    from governance.engine.steps import register_step_type
    from governance.engine.triggers import TriggerType, register_trigger
    from governance.webhooks.step import Webhook

    register_step_type(Webhook)
    register_trigger(TriggerType("webhook", "Inbound webhook", position=70, data_fields=None))
