"""Webhooks: the outbound webhook step, its destination checks and HTTP delivery, Standard
Webhooks signing, and which of a workflow's secrets sign a delivery. It imports no workflow
code: the designer imports it (reading and rotating the secret is workflows/signing_secret.py)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """The outbound webhook step type."""
    from governance.engine.steps import register_step_type
    from governance.webhooks.step import Webhook

    register_step_type(Webhook)
