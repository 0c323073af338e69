"""The audit chain's hashing, without a database: what an event's hash covers and how to link.

Each event's hash covers its content, its position and the previous event's hash, so changing,
removing or reordering any event breaks every link after it. The writer, the verifier and the
migration that chained the first events all hash through this module, so they cannot disagree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

# The previous hash of the first event: there is nothing before it.
GENESIS_HASH = ""

# What an event's hash covers, besides its position (seq) and the previous hash.
CONTENT_FIELDS = (
    "created_at",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "summary",
    "changes",
)


def timestamp_text(moment: datetime) -> str:
    """The one spelling of a moment in the chain: UTC, always with microseconds."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime in an audit event; use governance.timeutil.utcnow()")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_json(value: Any) -> str:
    """The same JSON text for equal values, whatever their key order (what the hash reads)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(event: Mapping[str, Any], *, seq: int, prev_hash: str) -> str:
    """SHA-256 (hex) of the event's content, its position and the hash of the event before it."""
    content = {name: event[name] for name in CONTENT_FIELDS}
    content["created_at"] = timestamp_text(content["created_at"])
    content["seq"] = seq
    content["prev_hash"] = prev_hash
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def link(
    events: Iterable[Mapping[str, Any]], *, after_seq: int, after_hash: str
) -> list[dict[str, Any]]:
    """The events, in order, placed after position `after_seq` whose hash is `after_hash`.

    Returns copies with seq, prev_hash and hash added; the last one's seq and hash are the
    chain's new head.
    """
    linked = []
    seq, prev_hash = after_seq, after_hash
    for event in events:
        seq += 1
        digest = event_hash(event, seq=seq, prev_hash=prev_hash)
        linked.append({**event, "seq": seq, "prev_hash": prev_hash, "hash": digest})
        prev_hash = digest
    return linked
