"""The append-only, hash-chained audit trail: who did what to which object, and when."""

from __future__ import annotations


def init_app() -> None:
    """Hook the chain writer onto sessions: queued events are appended as each commit starts."""
    from governance.audit import writer

    writer.init_app()
