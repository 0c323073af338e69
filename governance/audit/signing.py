"""Audit checkpoints without a database: what a signature covers and the one-line JSON form.

A checkpoint says "the chain had `seq` events and the last one's hash was `head_hash`", signed
with HMAC-SHA256 under a key that never enters the database. The same line goes to the log,
to the download and into `flask verify-audit --checkpoints FILE`, so any copy can be checked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from governance.audit.chain import canonical_json, timestamp_text

KIND = "steward.audit_checkpoint"
# Domain separation: a MAC made for anything else with the same key is never a checkpoint's,
# and the key derived from SECRET_KEY is never the key that signs sessions.
SIGNED_PURPOSE = "steward audit checkpoint v1"
DERIVED_KEY_LABEL = b"steward audit checkpoint key v1"


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    head_hash: str
    created_at: datetime
    signature: str


def signing_key(configured: str, secret_key: str) -> bytes:
    """AUDIT_CHECKPOINT_KEY when set; otherwise a key derived from SECRET_KEY for this use only."""
    if configured:
        return configured.encode("utf-8")
    return hmac.new(secret_key.encode("utf-8"), DERIVED_KEY_LABEL, hashlib.sha256).digest()


def _signed_text(seq: int, head_hash: str, created_at: datetime) -> bytes:
    content = {
        "purpose": SIGNED_PURPOSE,
        "seq": seq,
        "head_hash": head_hash,
        "created_at": timestamp_text(created_at),
    }
    return canonical_json(content).encode("utf-8")


def sign(key: bytes, *, seq: int, head_hash: str, created_at: datetime) -> Checkpoint:
    signature = hmac.new(key, _signed_text(seq, head_hash, created_at), hashlib.sha256)
    return Checkpoint(seq, head_hash, created_at, signature.hexdigest())


def is_authentic(key: bytes, checkpoint: Checkpoint) -> bool:
    expected = sign(
        key,
        seq=checkpoint.seq,
        head_hash=checkpoint.head_hash,
        created_at=checkpoint.created_at,
    )
    return hmac.compare_digest(expected.signature, checkpoint.signature)


def to_line(checkpoint: Checkpoint) -> str:
    """The checkpoint as one line of JSON (no newline), as logged and downloaded."""
    return canonical_json(
        {
            "kind": KIND,
            "seq": checkpoint.seq,
            "head_hash": checkpoint.head_hash,
            "created_at": timestamp_text(checkpoint.created_at),
            "signature": checkpoint.signature,
        }
    )


class BadCheckpointLine(ValueError):
    """A line that does not hold a checkpoint; the message says what is wrong."""


def from_line(text: str) -> Checkpoint:
    """Parse a line made by to_line(); text before its first "{" (a log prefix) is ignored."""
    start = text.find("{")
    if start < 0:
        raise BadCheckpointLine("it holds no JSON object.")
    try:
        data = json.loads(text[start:])
    except ValueError:
        raise BadCheckpointLine("its JSON cannot be read.") from None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise BadCheckpointLine(f'it is not a checkpoint (no "kind": "{KIND}").')
    seq, head_hash, signature = data.get("seq"), data.get("head_hash"), data.get("signature")
    if type(seq) is not int or seq < 1:
        raise BadCheckpointLine('"seq" must be a whole number of at least 1.')
    if not isinstance(head_hash, str) or not isinstance(signature, str):
        raise BadCheckpointLine('"head_hash" and "signature" must be text.')
    try:
        created_at = datetime.fromisoformat(str(data.get("created_at")))
    except ValueError:
        raise BadCheckpointLine('"created_at" must be an ISO 8601 time.') from None
    if created_at.tzinfo is None:
        raise BadCheckpointLine('"created_at" must carry its UTC offset.')
    return Checkpoint(seq, head_hash, created_at, signature)
