"""Approval requests and the one decision service that records decisions on them."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """What this feature contributes to the engine (its step types, sweeps, subscriptions)."""
