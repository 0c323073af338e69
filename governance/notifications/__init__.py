"""In-app notifications (and the email that goes with them)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """What this feature contributes to the engine (its step types, sweeps, subscriptions)."""
    from governance.engine.sweeps import register_sweep
    from governance.notifications import (
        digest,
        outbox,
        tasks,  # noqa: F401  (the send task, sent by name)
    )

    register_sweep("emails_resent", outbox.resend_stale_emails)
    register_sweep("digests_queued", digest.send_due_digests)
