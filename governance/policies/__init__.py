"""Governance policies: their lifecycle, revisions and pages."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """The set-status and assign step types."""
    from governance.engine.steps import register_step_type
    from governance.policies.steps import Assign, SetStatus

    register_step_type(SetStatus)
    register_step_type(Assign)
