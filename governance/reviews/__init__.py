"""Review cadence: when each published policy is next to be reviewed, reminders, overdue."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Count each newly published version as a review (in the publishing transaction)."""
    from governance import events
    from governance.policies.events import PolicyVersionPublished
    from governance.reviews.service import count_publication_as_review

    events.subscribe(PolicyVersionPublished, count_publication_as_review)
