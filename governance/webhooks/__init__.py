"""Webhooks: the outbound webhook step, its destination checks and HTTP delivery, Standard
Webhooks signing, and a workflow's outbound signing secret (read, rotated)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """The outbound webhook step type."""
    from governance.engine.steps import register_step_type
    from governance.webhooks.step import Webhook

    register_step_type(Webhook)
