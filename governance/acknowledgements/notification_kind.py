"""Notifications that ask someone to acknowledge a policy: their kind on the notifications
page, and whether the reader has acknowledged it since, in one query a page."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.acknowledgements.models import AckCampaign, Acknowledgement
from governance.auth.models import User
from governance.extensions import db
from governance.notifications.kinds import NotificationKind, Subject, Target
from governance.policies.models import Policy


def describe_acknowledgements(reader: User, targets: list[Target]) -> dict[int, Subject]:
    ids = {t.view_args["ack_id"] for t in targets if "ack_id" in t.view_args}
    if not ids:
        return {}
    rows = {
        row.id: row
        for row in db.session.scalars(
            sa.select(Acknowledgement)
            # Only the reader's own: their page refuses anyone else's.
            .where(Acknowledgement.id.in_(ids), Acknowledgement.user_id == reader.id)
            .options(
                so.lazyload(Acknowledgement.user),
                so.joinedload(Acknowledgement.campaign)
                .joinedload(AckCampaign.policy)
                .load_only(Policy.id, Policy.title)
                .lazyload(Policy.owner),
            )
        )
    }
    subjects = {}
    for target in targets:
        row = rows.get(target.view_args.get("ack_id", 0))
        if row is None:
            continue
        done = row.acknowledged_at is not None
        subjects[target.notification.id] = Subject(
            f"{row.campaign.policy.title} v{row.campaign.version_label}",
            "Acknowledged" if done else "To acknowledge",
            "status-published" if done else "status-in_review",
        )
    return subjects


ACKNOWLEDGEMENT_NOTIFICATIONS = NotificationKind(
    "acknowledgement",
    "Acknowledgements",
    ("/acknowledgements",),
    describe=describe_acknowledgements,
)
