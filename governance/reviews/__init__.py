"""Review cadence: when each published policy is next to be reviewed, reminders, overdue."""


def init_app() -> None:
    """Count each newly published version as a review (in the publishing transaction)."""
    from governance.reviews.service import subscribe_to_publication

    subscribe_to_publication()
