"""Notifications that link to a policy exception: their kind on the notifications page, and
each one's exception as it is now (its policy and scope, its status), in one query a page."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.auth.models import User
from governance.extensions import db
from governance.notifications.kinds import NotificationKind, Subject, Target
from governance.policies.models import Policy
from governance.policy_exceptions.models import STATUS_LABELS, PolicyException


def describe_exceptions(reader: User, targets: list[Target]) -> dict[int, Subject]:
    ids = {t.view_args["exception_id"] for t in targets if "exception_id" in t.view_args}
    if not ids:
        return {}
    exceptions = {
        exception.id: exception
        for exception in db.session.scalars(
            sa.select(PolicyException)
            .where(PolicyException.id.in_(ids))
            .options(
                so.joinedload(PolicyException.policy)
                .load_only(Policy.id, Policy.title)
                .lazyload(Policy.owner)
            )
        )
    }
    return {
        target.notification.id: Subject(
            f"{exception.policy.title}: {exception.scope}",
            STATUS_LABELS.get(exception.status, exception.status.capitalize()),
            f"exception-{exception.status}",
        )
        for target in targets
        if (exception := exceptions.get(target.view_args.get("exception_id", 0))) is not None
    }


EXCEPTION_NOTIFICATIONS = NotificationKind(
    "exception",
    "Policy exceptions",
    ("/policy-exceptions", "/exceptions"),
    describe=describe_exceptions,
)
