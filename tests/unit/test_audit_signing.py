"""Audit checkpoints' signatures and their JSON line, without a database."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from governance.audit import signing

KEY = b"kept-outside-the-database"
MOMENT = datetime(2026, 12, 2, 14, 0, 0, 123456, tzinfo=UTC)


def _checkpoint(**overrides) -> signing.Checkpoint:
    fields = {"seq": 42, "head_hash": "a" * 64, "created_at": MOMENT} | overrides
    return signing.sign(KEY, **fields)


def test_a_signed_checkpoint_is_authentic_under_its_key_only():
    checkpoint = _checkpoint()
    assert signing.is_authentic(KEY, checkpoint)
    assert not signing.is_authentic(b"another key", checkpoint)


@pytest.mark.parametrize(
    "change", [{"seq": 41}, {"head_hash": "b" * 64}, {"created_at": MOMENT.replace(second=1)}]
)
def test_changing_anything_a_checkpoint_says_breaks_its_signature(change):
    assert not signing.is_authentic(KEY, replace(_checkpoint(), **change))


def test_the_line_reads_back_as_the_same_checkpoint_also_behind_a_log_prefix():
    checkpoint = _checkpoint()
    line = signing.to_line(checkpoint)
    assert "\n" not in line
    assert signing.from_line(line) == checkpoint
    logged = f"[2026-12-02 14:00:00,123] INFO:governance.audit.checkpoint_writer:Worker-1:{line}"
    assert signing.from_line(logged) == checkpoint


def test_the_derived_key_is_not_the_secret_key_and_a_configured_key_wins():
    derived = signing.signing_key("", "the-secret-key")
    assert derived not in (b"the-secret-key", signing.signing_key("", "another-secret-key"))
    # A session signature made with SECRET_KEY never doubles as a checkpoint key.
    assert (
        derived == hmac.new(b"the-secret-key", signing.DERIVED_KEY_LABEL, hashlib.sha256).digest()
    )
    assert signing.signing_key("configured", "the-secret-key") == b"configured"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no json here", "it holds no JSON object."),
        ("{not json", "its JSON cannot be read."),
        ('{"seq": 1}', "it is not a checkpoint"),
        ('{"kind": "steward.audit_checkpoint", "seq": true}', '"seq" must be a whole number'),
        (
            '{"kind": "steward.audit_checkpoint", "seq": 1, "head_hash": 5, "signature": ""}',
            '"head_hash" and "signature" must be text.',
        ),
        (
            '{"kind": "steward.audit_checkpoint", "seq": 1, "head_hash": "", "signature": "",'
            ' "created_at": "yesterday"}',
            '"created_at" must be an ISO 8601 time.',
        ),
        (
            '{"kind": "steward.audit_checkpoint", "seq": 1, "head_hash": "", "signature": "",'
            ' "created_at": "2026-12-02T14:00:00"}',
            '"created_at" must carry its UTC offset.',
        ),
    ],
)
def test_a_line_that_is_not_a_checkpoint_says_what_is_wrong(text, reason):
    with pytest.raises(signing.BadCheckpointLine) as caught:
        signing.from_line(text)
    assert str(caught.value).startswith(reason)
