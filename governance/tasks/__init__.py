"""Tasks created by workflows for a person to do."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """What this feature contributes to the engine (its step types, sweeps, subscriptions)."""
