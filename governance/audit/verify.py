"""Checks the whole audit chain: positions, links, hashes and the head, batch by batch.

Used by `flask verify-audit` and the tests. Events are read in chain order a batch at a time
(keyset on seq), so a chain of any length is checked in constant memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from governance.audit import chain
from governance.audit.models import AuditChainHead, AuditEvent
from governance.audit.service import in_chain_order
from governance.extensions import db

BATCH_SIZE = 1000

_COLUMNS = (
    AuditEvent.id,
    AuditEvent.seq,
    AuditEvent.prev_hash,
    AuditEvent.hash,
    *(getattr(AuditEvent, name) for name in chain.CONTENT_FIELDS),
)


@dataclass(frozen=True)
class ChainCheck:
    """What verify_chain() found: how many events are intact, and the first break if any."""

    events: int
    last_hash: str = chain.GENESIS_HASH
    problem: str = ""
    # The first broken event (its id, when the row exists, and its position in the chain).
    event_id: int | None = None
    position: int | None = None

    @property
    def is_intact(self) -> bool:
        return not self.problem

    @property
    def message(self) -> str:
        if self.is_intact:
            return f"Audit chain intact: {self.events} events."
        where = (
            f"position {self.position}"
            if self.event_id is None
            else f"event #{self.event_id} (position {self.position})"
        )
        return f"Audit chain broken at {where}: {self.problem}"


def _read_head() -> tuple[int, str]:
    head = db.session.execute(
        sa.select(AuditChainHead.seq, AuditChainHead.last_hash).where(
            AuditChainHead.id == AuditChainHead.ROW_ID
        )
    ).one_or_none()
    return (head.seq, head.last_hash) if head else (0, chain.GENESIS_HASH)


def _events_up_to(last_seq: int, batch_size: int):
    """Events with seq <= last_seq in seq order, read batch by batch."""
    return in_chain_order(sa.select(*_COLUMNS).where(AuditEvent.seq <= last_seq), batch_size)


def verify_chain(*, batch_size: int = BATCH_SIZE) -> ChainCheck:
    # The head is read first: events committed while the check runs lie beyond it (appending
    # moves the head in the same transaction), so they neither disturb nor escape the check.
    head_seq, head_hash = _read_head()
    expected_seq, prev_hash = 1, chain.GENESIS_HASH
    for event in _events_up_to(head_seq, batch_size):
        broken = _first_problem(event, expected_seq, prev_hash)
        if broken:
            return ChainCheck(
                expected_seq - 1, prev_hash, broken, event_id=event.id, position=event.seq
            )
        expected_seq, prev_hash = expected_seq + 1, event.hash
    checked = expected_seq - 1
    if checked < head_seq:
        return ChainCheck(
            checked,
            prev_hash,
            f"the chain head says the chain has {head_seq} events but it ends at position "
            f"{checked}: the events after it were removed.",
            position=checked + 1,
        )
    if prev_hash != head_hash:
        return ChainCheck(
            checked - 1,
            prev_hash,
            "it does not match the hash the chain head recorded for the last event.",
            event_id=_event_id_at(checked),
            position=checked,
        )
    return _check_nothing_beyond_head(checked, prev_hash)


def _first_problem(event: sa.Row, expected_seq: int, prev_hash: str) -> str:
    if event.seq != expected_seq:
        return f"expected position {expected_seq}: the events before it are missing."
    if event.prev_hash != prev_hash:
        return "it does not link to the event before it."
    content = {name: getattr(event, name) for name in chain.CONTENT_FIELDS}
    if chain.event_hash(content, seq=event.seq, prev_hash=event.prev_hash) != event.hash:
        return "its content does not match its hash."
    return ""


def _event_id_at(seq: int) -> int | None:
    return db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.seq == seq))


def _check_nothing_beyond_head(checked: int, last_hash: str) -> ChainCheck:
    """An event past the head is either newer than the head we read or was added by hand.

    A real one was committed together with a head at or past its position, so reading the
    head again after finding it tells the two apart.
    """
    beyond = db.session.execute(
        sa.select(AuditEvent.id, AuditEvent.seq)
        .where(AuditEvent.seq > checked)
        .order_by(AuditEvent.seq)
        .limit(1)
    ).one_or_none()
    if beyond is None or _read_head()[0] >= beyond.seq:
        return ChainCheck(checked, last_hash)
    return ChainCheck(
        checked,
        last_hash,
        "it lies beyond the chain head, so it was not written by Steward.",
        event_id=beyond.id,
        position=beyond.seq,
    )
