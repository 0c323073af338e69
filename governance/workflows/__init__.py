"""Workflow definitions, their immutable versions, and the designer."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """The manual trigger: the Run button (service.run_workflow) starts one workflow."""
    from governance.engine.triggers import TriggerType, register_trigger

    register_trigger(TriggerType("manual", "Manual (Run button)", position=50, data_fields=None))
