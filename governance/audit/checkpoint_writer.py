"""Signs the audit chain's head as a checkpoint: for the periodic task and `flask audit-checkpoint`.

A checkpoint is only signed after the events since the previous one check out, so a signature
never vouches for a chain that was already broken. Each one is also logged as one JSON line,
so a log store outside the database keeps a copy.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from governance.audit import chain, checkpoints, signing, verify
from governance.audit.models import AuditCheckpoint
from governance.dbutil import insert_on_conflict, rowcount
from governance.extensions import db
from governance.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

_table = AuditCheckpoint.__table__


class CheckpointRefused(Exception):
    """The chain does not check out since the last checkpoint; the message says where."""


def write_checkpoint(now: datetime) -> signing.Checkpoint | None:
    """Sign the chain's current length and head hash; None when there is nothing new to sign
    (no event since the last checkpoint, or another writer signed this head first)."""
    last = checkpoints.latest_checkpoint()
    head_seq, head_hash = verify.read_head()
    after_seq, after_hash = (last.seq, last.head_hash) if last else (0, chain.GENESIS_HASH)
    if head_seq == after_seq and head_hash == after_hash:
        return None
    if head_seq < after_seq:
        raise CheckpointRefused(
            f"The chain head is at position {head_seq}, behind the last checkpoint "
            f"(position {after_seq}): events were removed. Run flask verify-audit."
        )
    check = verify.check_segment(
        after_seq=after_seq,
        after_hash=after_hash,
        head_seq=head_seq,
        head_hash=head_hash,
        signed={},
    )
    if not check.is_intact:
        raise CheckpointRefused(f"No checkpoint written. {check.message}")
    checkpoint = signing.sign(
        checkpoints.signing_key(), seq=head_seq, head_hash=head_hash, created_at=now
    )
    # The unique seq decides between two consumers signing the same head at once.
    with unit_of_work():
        inserted = rowcount(
            db.session.execute(
                insert_on_conflict(_table, db.engine.dialect.name)
                .values(
                    seq=checkpoint.seq,
                    head_hash=checkpoint.head_hash,
                    created_at=checkpoint.created_at,
                    signature=checkpoint.signature,
                )
                .on_conflict_do_nothing(index_elements=[_table.c.seq])
            )
        )
    if not inserted:
        return None
    log.info("%s", signing.to_line(checkpoint))
    return checkpoint


def write_checkpoint_if_due(now: datetime, every: timedelta) -> signing.Checkpoint | None:
    """The periodic task's pass: a checkpoint when the last one is about `every` old.

    Every consumer schedules the task, so several passes come at once; the first signs and
    the others find a checkpoint seconds old. The slack lets the next scheduled pass sign
    although it starts a moment less than `every` after the last one did.
    """
    last = checkpoints.latest_checkpoint()
    slack = min(timedelta(minutes=1), every / 2)
    if last is not None and now - last.created_at < every - slack:
        return None
    return write_checkpoint(now)
