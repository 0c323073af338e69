"""Execution pages: the filtered list and the live timeline of one execution."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """A policy's page lists its latest executions this user may read."""
    from governance.executions import service
    from governance.policies.page_parts import register_page_part

    register_page_part(
        "executions", lambda policy, user: service.policy_executions(policy.id, user, limit=20)
    )
