"""Approval requests and the one decision service that records decisions on them."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """The approval step type."""
    from governance.approvals.step import Approval
    from governance.engine.steps import register_step_type

    register_step_type(Approval)
