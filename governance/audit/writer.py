"""Appends a transaction's audit events to the hash chain as that transaction commits.

record_event() only queues an event on the session. Just before the commit, this module locks
the chain head, numbers the queued events after it, hashes them and inserts them, all inside
the business transaction: the change and its events commit together or not at all, and
concurrent transactions queue on the head lock, so the chain has no gaps and no forks.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from governance.audit import chain
from governance.audit.models import AuditChainHead, AuditEvent
from governance.dbutil import insert_on_conflict, rowcount

PENDING_KEY = "audit.pending"

_events = AuditEvent.__table__
_head = AuditChainHead.__table__


def queue_for_commit(session: so.Session, event: dict[str, Any]) -> None:
    """Add `event` to the chain when this session's transaction commits (and only then)."""
    if not session.in_transaction():
        # Begun now (not at the next query), so a rollback before then drops the event too.
        session.begin()
    # Remember the savepoint it was recorded in: rolling that back must drop the event too.
    savepoint = session.get_nested_transaction()
    session.info.setdefault(PENDING_KEY, []).append((savepoint, event))


def _append_pending_events(session: so.Session) -> None:
    if session.in_nested_transaction():
        return  # releasing a savepoint; the outer commit appends
    pending = session.info.pop(PENDING_KEY, None)
    if not pending:
        return
    # Flush first, so the head row is the last lock this transaction takes: whoever holds it
    # waits for no other lock (no deadlock) and holds it only for the few statements below.
    session.flush()
    after_seq, after_hash = _lock_head(session)
    linked = chain.link([event for _, event in pending], after_seq=after_seq, after_hash=after_hash)
    session.execute(sa.insert(_events), linked)
    session.execute(
        sa.update(_head)
        .where(_head.c.id == AuditChainHead.ROW_ID)
        .values(seq=linked[-1]["seq"], last_hash=linked[-1]["hash"])
    )


def _lock_head(session: so.Session) -> tuple[int, str]:
    """Lock the head row until commit (a row lock on PostgreSQL, the write lock on SQLite)
    and return the chain's last position and hash."""
    take_lock = sa.update(_head).where(_head.c.id == AuditChainHead.ROW_ID).values(seq=_head.c.seq)
    if rowcount(session.execute(take_lock)) == 0:
        # No head yet (an empty database): create it. Two first writers may both get here;
        # the second one's insert waits for the first to commit and then does nothing.
        session.execute(
            _insert_ignoring_conflict(session).values(
                id=AuditChainHead.ROW_ID, seq=0, last_hash=chain.GENESIS_HASH
            )
        )
        session.execute(take_lock)
    # A fresh statement after the lock: on PostgreSQL it sees what the previous holder committed.
    head = session.execute(
        sa.select(_head.c.seq, _head.c.last_hash).where(_head.c.id == AuditChainHead.ROW_ID)
    ).one()
    return head.seq, head.last_hash


def _insert_ignoring_conflict(session: so.Session):
    dialect = session.get_bind().dialect.name
    return insert_on_conflict(_head, dialect).on_conflict_do_nothing(index_elements=[_head.c.id])


def _forget_rolled_back_events(
    session: so.Session, previous_transaction: so.SessionTransaction
) -> None:
    """A savepoint was rolled back: its events go with it (the outer transaction's stay)."""
    if not previous_transaction.nested:
        return
    pending = session.info.get(PENDING_KEY)
    if pending:
        pending[:] = [
            (savepoint, event)
            for savepoint, event in pending
            if not _is_within(savepoint, previous_transaction)
        ]


def _is_within(savepoint: so.SessionTransaction | None, transaction: so.SessionTransaction) -> bool:
    while savepoint is not None:
        if savepoint is transaction:
            return True
        savepoint = savepoint.parent
    return False


def _forget_events_of_ended_transaction(
    session: so.Session, transaction: so.SessionTransaction
) -> None:
    """The transaction ended without appending (rolled back or closed): drop its events.

    After a commit the list is already empty. Listening here rather than on rollback also
    covers session.close(), which rolls back without a rollback event.
    """
    if transaction.parent is None:
        session.info.pop(PENDING_KEY, None)


def init_app() -> None:
    """Hook the listeners once per process onto every session (Flask-SQLAlchemy's included)."""
    if not sa.event.contains(so.Session, "before_commit", _append_pending_events):
        sa.event.listen(so.Session, "before_commit", _append_pending_events)
        sa.event.listen(so.Session, "after_soft_rollback", _forget_rolled_back_events)
        sa.event.listen(so.Session, "after_transaction_end", _forget_events_of_ended_transaction)
