"""The one function that writes audit events, and the queries behind the audit page.

record_event() queues the event on the session; governance.audit.writer appends it to the
hash chain when the caller commits the change it records.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from governance.audit import writer
from governance.audit.models import AuditEvent
from governance.extensions import db
from governance.timeutil import utcnow

SUMMARY_MAX = 500


def record_event(
    *,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int | None,
    summary: str = "",
    changes: dict[str, Any] | None = None,
) -> None:
    """Record an audit event in the current transaction (no commit: it lands with the change)."""
    writer.queue_for_commit(
        db.session(),  # the request's Session itself, not its scoped proxy
        {
            "created_at": utcnow(),
            "actor_id": actor_id,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "summary": summary[:SUMMARY_MAX],
            # Through JSON and back, so the hash covers exactly what the column will give back
            # (tuples become lists, keys become strings).
            "changes": json.loads(json.dumps(changes or {})),
        },
    )


def diff_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{field: {"before": x, "after": y}} for the fields whose value changed."""
    return {
        key: {"before": before.get(key), "after": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def events_statement(
    *,
    action: str = "",
    actor_id: int | None = None,
    object_type: str = "",
    object_id: int | None = None,
) -> sa.Select:
    """Audit events matching the filters, newest first."""
    statement = sa.select(AuditEvent)
    if action:
        statement = statement.where(AuditEvent.action == action)
    if actor_id:
        statement = statement.where(AuditEvent.actor_id == actor_id)
    if object_type:
        statement = statement.where(AuditEvent.object_type == object_type)
    if object_id:
        statement = statement.where(AuditEvent.object_id == object_id)
    return statement.order_by(AuditEvent.id.desc())


def known_actions() -> list[str]:
    return list(
        db.session.scalars(sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    )
