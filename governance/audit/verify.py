"""Checks the whole audit chain: positions, links, hashes, the head and the signed checkpoints.

Used by `flask verify-audit`, the checkpoint writer and the tests. Events are read in chain
order a batch at a time (keyset on seq), so a chain of any length is checked in constant
memory; checkpoints (one an hour, a few thousand a year) are held in a dict by position.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import sqlalchemy as sa

from governance.audit import chain, checkpoints, signing
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
    # Checkpoints whose signature, position and hash held, and the longest one's position.
    checkpoints: int = 0
    checkpoint_seq: int = 0

    @property
    def is_intact(self) -> bool:
        return not self.problem

    @property
    def message(self) -> str:
        if self.is_intact:
            return f"Audit chain intact: {self.events} events."
        if self.position is None:
            return self.problem
        where = (
            f"position {self.position}"
            if self.event_id is None
            else f"event #{self.event_id} (position {self.position})"
        )
        return f"Audit chain broken at {where}: {self.problem}"


def read_head() -> tuple[int, str]:
    head = db.session.execute(
        sa.select(AuditChainHead.seq, AuditChainHead.last_hash).where(
            AuditChainHead.id == AuditChainHead.ROW_ID
        )
    ).one_or_none()
    return (head.seq, head.last_hash) if head else (0, chain.GENESIS_HASH)


def _events_between(after_seq: int, last_seq: int, batch_size: int):
    """Events with after_seq < seq <= last_seq in seq order, read batch by batch."""
    return in_chain_order(
        sa.select(*_COLUMNS).where(AuditEvent.seq > after_seq, AuditEvent.seq <= last_seq),
        batch_size,
    )


def verify_chain(
    *, batch_size: int = BATCH_SIZE, external: Iterable[signing.Checkpoint] = ()
) -> ChainCheck:
    """The whole chain, the stored checkpoints and `external` ones (a kept download)."""
    # Checkpoints first, then the head: a checkpoint signs a committed head and the head only
    # moves forward, so none read here lies beyond the head read next. Events committed while
    # the check runs lie beyond that head (appending moves it in the same transaction), so
    # they neither disturb nor escape the check.
    signed, problem = _authentic_checkpoints(list(external))
    if problem:
        return ChainCheck(0, problem=problem)
    head_seq, head_hash = read_head()
    check = check_segment(
        after_seq=0,
        after_hash=chain.GENESIS_HASH,
        head_seq=head_seq,
        head_hash=head_hash,
        signed=signed,
        batch_size=batch_size,
    )
    if check.is_intact:
        check = _check_nothing_beyond_head(check.events, check.last_hash)
    if not check.is_intact or not signed:
        return check
    longest = signed[max(signed)]
    if longest.seq > check.events:
        return replace(
            check,
            problem=f"the checkpoint of {_moment(longest)} says the chain had {longest.seq} "
            f"events, but it ends at position {check.events}: events were removed.",
            position=check.events + 1,
        )
    return replace(check, checkpoints=len(signed), checkpoint_seq=longest.seq)


def check_segment(
    *,
    after_seq: int,
    after_hash: str,
    head_seq: int,
    head_hash: str,
    signed: Mapping[int, signing.Checkpoint],
    batch_size: int = BATCH_SIZE,
) -> ChainCheck:
    """The events after position `after_seq` (whose hash is `after_hash`) up to the head:
    each in place, linked and hashed right, on every signed checkpoint's hash, ending on the
    head. `events` is the last position found intact."""
    expected_seq, prev_hash = after_seq + 1, after_hash
    for event in _events_between(after_seq, head_seq, batch_size):
        broken = _first_problem(event, expected_seq, prev_hash)
        if not broken and signed and event.seq in signed:
            broken = _checkpoint_problem(event, signed[event.seq])
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
    return ChainCheck(checked, prev_hash)


def _authentic_checkpoints(
    external: list[signing.Checkpoint],
) -> tuple[dict[int, signing.Checkpoint], str]:
    """Every checkpoint by position, once each signature and agreement is checked; or why not."""
    key = checkpoints.signing_key()
    stored = checkpoints.stored_checkpoints()
    signed: dict[int, signing.Checkpoint] = {}
    for source, found in (("audit_checkpoints", stored), ("the checkpoints file", external)):
        for checkpoint in found:
            if not signing.is_authentic(key, checkpoint):
                return {}, (
                    f"Audit checkpoint at position {checkpoint.seq} ({_moment(checkpoint)}) in "
                    f"{source} has a signature this AUDIT_CHECKPOINT_KEY did not make: it was "
                    "forged or altered."
                )
            other = signed.setdefault(checkpoint.seq, checkpoint)
            if other.head_hash != checkpoint.head_hash:
                return {}, (
                    f"Two signed checkpoints for position {checkpoint.seq} name different "
                    "hashes: the signing key has leaked."
                )
    kept = {checkpoint.signature for checkpoint in stored}
    for checkpoint in external:
        if checkpoint.signature not in kept:
            return {}, (
                f"Audit checkpoint at position {checkpoint.seq} ({_moment(checkpoint)}) from "
                "the checkpoints file is missing from audit_checkpoints: rows were removed."
            )
    return signed, ""


def _checkpoint_problem(event: sa.Row, checkpoint: signing.Checkpoint) -> str:
    if event.hash == checkpoint.head_hash:
        return ""
    return f"its hash is not the one the checkpoint of {_moment(checkpoint)} signed for it."


def _moment(checkpoint: signing.Checkpoint) -> str:
    return f"{checkpoint.created_at:%Y-%m-%d %H:%M:%S} UTC"


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
    if beyond is None or read_head()[0] >= beyond.seq:
        return ChainCheck(checked, last_hash)
    return ChainCheck(
        checked,
        last_hash,
        "it lies beyond the chain head, so it was not written by Steward.",
        event_id=beyond.id,
        position=beyond.seq,
    )
