"""The one function that writes audit events, and the queries behind the audit pages.

record_event() queues the event on the session; governance.audit.writer appends it to the
hash chain when the caller commits the change it records.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from governance.audit import writer
from governance.audit.models import AuditEvent
from governance.extensions import db
from governance.timeutil import utcnow

SUMMARY_MAX = 500
EXPORT_BATCH_SIZE = 1000


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


@dataclass(frozen=True)
class AuditQuery:
    """The audit page's filters, as plain values; dates are whole UTC days, both included."""

    action: str = ""
    actor_id: int | None = None
    object_type: str = ""
    object_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _filtered(statement: sa.Select, query: AuditQuery) -> sa.Select:
    if query.action:
        statement = statement.where(AuditEvent.action == query.action)
    if query.actor_id:
        statement = statement.where(AuditEvent.actor_id == query.actor_id)
    if query.object_type:
        statement = statement.where(AuditEvent.object_type == query.object_type)
    if query.object_id:
        statement = statement.where(AuditEvent.object_id == query.object_id)
    if query.date_from:
        statement = statement.where(AuditEvent.created_at >= _start_of(query.date_from))
    if query.date_to:
        statement = statement.where(
            AuditEvent.created_at < _start_of(query.date_to + timedelta(days=1))
        )
    return statement


def events_statement(query: AuditQuery) -> sa.Select:
    """Audit events matching the filters, newest (last in the chain) first."""
    return _filtered(sa.select(AuditEvent), query).order_by(AuditEvent.seq.desc())


def events_for_export(
    query: AuditQuery, *, batch_size: int = EXPORT_BATCH_SIZE
) -> Iterator[sa.Row]:
    """The matching events in chain order, read `batch_size` at a time (keyset on seq), so an
    export of any size holds one batch in memory."""
    # The account model, reached through AuditEvent.actor, so the trail imports no account code.
    account = sa.inspect(AuditEvent).relationships["actor"].mapper.class_
    statement = _filtered(
        sa.select(
            AuditEvent.seq,
            AuditEvent.created_at,
            account.email.label("actor_email"),
            AuditEvent.action,
            AuditEvent.object_type,
            AuditEvent.object_id,
            AuditEvent.summary,
            AuditEvent.changes,
            AuditEvent.hash,
        ).outerjoin(account, account.id == AuditEvent.actor_id),
        query,
    )
    return in_chain_order(statement, batch_size)


def in_chain_order(statement: sa.Select, batch_size: int) -> Iterator[sa.Row]:
    """The statement's rows (which must include `seq`) in chain order, `batch_size` at a time
    (keyset on seq), so reading any number of events holds one batch in memory."""
    statement = statement.order_by(AuditEvent.seq)
    last_seq = None
    while True:
        page = statement if last_seq is None else statement.where(AuditEvent.seq > last_seq)
        rows = db.session.execute(page.limit(batch_size)).all()
        yield from rows
        if len(rows) < batch_size:
            return
        last_seq = rows[-1].seq


def known_actions() -> list[str]:
    return list(
        db.session.scalars(sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    )


def known_object_types() -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent.object_type).distinct().order_by(AuditEvent.object_type)
        )
    )
