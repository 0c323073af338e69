"""A workflow's outbound signing secret: reading it (admins, audited) and rotating it with a
grace period in which the previous secret still signs (which secrets sign a delivery is
webhooks/signing_secret.py)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from governance.audit.service import record_event
from governance.auth.models import User
from governance.engine.models import Workflow
from governance.errors import DomainError
from governance.extensions import db
from governance.lookup import get_or_raise
from governance.timeutil import utcnow
from governance.unit_of_work import unit_of_work
from governance.webhooks.signing import new_signing_secret
from governance.webhooks.signing_secret import SigningSecret, current_signing_secret

MAX_GRACE_HOURS = 720  # 30 days: a receiver that has not switched by then is not switching


@unit_of_work()
def read_signing_secret(workflow_id: int, *, actor: User, via: str) -> SigningSecret:
    """The secret, for an admin to give to a receiver; each read is in the audit trail."""
    workflow = get_or_raise(Workflow, workflow_id, "No such workflow.")
    record_event(
        actor_id=actor.id,
        action="workflow.signing_secret_read",
        object_type="workflow",
        object_id=workflow.id,
        summary=f"Read the webhook signing secret of “{workflow.name}” ({via})",
    )
    return current_signing_secret(workflow)


@unit_of_work()
def rotate_signing_secret(workflow_id: int, *, actor: User, grace_hours: int) -> SigningSecret:
    """A new secret signs from now on; the one it replaces keeps signing for `grace_hours`
    (0: it stops at once, for a secret that leaked)."""
    if not 0 <= grace_hours <= MAX_GRACE_HOURS:
        raise DomainError(f"The grace period is 0 to {MAX_GRACE_HOURS} hours.", field="grace_hours")
    workflow = get_or_raise(Workflow, workflow_id, "No such workflow.")
    expires = utcnow() + timedelta(hours=grace_hours) if grace_hours else None
    # One UPDATE: the secret moved to `previous` is the one in the row at that moment, so two
    # rotations at once never lose a secret that is signing.
    db.session.execute(
        sa.update(Workflow)
        .where(Workflow.id == workflow.id)
        .values(
            previous_signing_secret=Workflow.signing_secret if grace_hours else None,
            previous_signing_secret_expires_at=expires,
            signing_secret=new_signing_secret(),
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    record_event(
        actor_id=actor.id,
        action="workflow.signing_secret_rotated",
        object_type="workflow",
        object_id=workflow.id,
        summary=f"Rotated the webhook signing secret of “{workflow.name}”"
        + (f"; the previous one signs for {grace_hours} more hour(s)" if grace_hours else ""),
    )
    db.session.refresh(workflow)
    return current_signing_secret(workflow)
