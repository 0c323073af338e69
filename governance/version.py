"""Steward's version: one leaf module, so the heartbeat and the API document read it without
importing the app factory."""

__version__ = "0.5.0"
