"""In-app notifications (and the email that goes with them)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """What this feature contributes to the engine (its step types, sweeps, subscriptions)."""
    from governance.notifications import tasks  # noqa: F401  (the send task, sent by name)
