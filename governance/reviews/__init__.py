"""Review cadence: when each published policy is next to be reviewed, reminders, overdue."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Count each newly published version as a review (in the publishing transaction); the
    policy.review_due trigger, which the review schedule fires."""
    from governance import events
    from governance.engine.triggers import TriggerType, register_trigger
    from governance.policies.events import PolicyVersionPublished
    from governance.reviews.service import REVIEW_DUE_TRIGGER, count_publication_as_review

    events.subscribe(PolicyVersionPublished, count_publication_as_review)
    register_trigger(
        TriggerType(
            REVIEW_DUE_TRIGGER,
            "Policy review due",
            position=40,
            data_fields=("policy_id", "due_on", "actor_id"),
        )
    )
