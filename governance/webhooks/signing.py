"""Webhook signatures: Standard Webhooks signing for the outbound `webhook` step and for
callers of an inbound webhook trigger, and the older `sha256=` HMAC (inbound, legacy only).

Pure functions over bytes and strings; no Flask, no database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence

KEY_PREFIX = "whsec_"  # Standard Webhooks marks base64 key material with it
INBOUND_PREFIX = "sha256="
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


def new_signing_secret() -> str:
    """A fresh outbound secret in the Standard Webhooks form: "whsec_" + base64(32 bytes)."""
    return KEY_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _signing_key(secret: str) -> bytes:
    # Standard Webhooks secrets carry base64 key bytes after the prefix; a bare secret (for
    # example one a receiver chose themselves) is used as its own utf-8 bytes.
    if not secret.startswith(KEY_PREFIX):
        return secret.encode("utf-8")
    try:
        return base64.b64decode(secret.removeprefix(KEY_PREFIX), validate=True)
    except ValueError as exc:
        raise ValueError("signing secret is not valid base64 after 'whsec_'") from exc


def sign_standard_webhook(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: "v1," + base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def standard_webhook_headers(
    secret: str | Sequence[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The headers of a signed outbound delivery. `message_id` stays the same across retries
    of one delivery, so receivers can drop duplicates.

    Several secrets (a rotation's grace period) give several space-separated signatures, as
    the specification allows: a receiver that knows either secret verifies the delivery."""
    keys = [secret] if isinstance(secret, str) else list(secret)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            sign_standard_webhook(key, message_id, timestamp, body) for key in keys
        ),
        "content-type": "application/json",
    }


def verify_standard_webhook(
    secret: str, message_id: str, timestamp: int, body: bytes, header_value: str | None
) -> bool:
    """True when one of the space-separated `v1,<base64>` values in `header_value` is the
    signature of this id, timestamp and body under `secret`. Other versions are skipped."""
    if not secret or not header_value:
        return False
    expected = base64.b64decode(sign_standard_webhook(secret, message_id, timestamp, body)[3:])
    for candidate in header_value.split():
        version, _, encoded = candidate.partition(",")
        if version != "v1" or not encoded.isascii():
            continue
        try:
            given = base64.b64decode(encoded, validate=True)
        except ValueError:
            continue
        if hmac.compare_digest(expected, given):
            return True
    return False


def standard_form(secret: str) -> str:
    """The `whsec_` form of a secret, as Standard Webhooks libraries take it. A secret from
    before Steward used that form keys the HMAC with its own utf-8 bytes, so those bytes are
    what its form encodes."""
    if secret.startswith(KEY_PREFIX):
        return secret
    return KEY_PREFIX + base64.b64encode(secret.encode("utf-8")).decode("ascii")


def new_inbound_secret() -> str:
    """A fresh secret for an inbound webhook trigger, in the Standard Webhooks form."""
    return new_signing_secret()


def inbound_signature(secret: str, body: bytes) -> str:
    """The legacy X-Steward-Signature value: "sha256=" + hex HMAC-SHA256 of the raw body,
    keyed with the secret's utf-8 bytes as written (the `whsec_` prefix included)."""
    return INBOUND_PREFIX + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_inbound_signature(secret: str, body: bytes, header_value: str | None) -> bool:
    """True only when `header_value` is the signature of `body` under `secret`."""
    # An empty secret would make the HMAC key public knowledge: nothing verifies against it.
    if not secret or not header_value:
        return False
    given = header_value.strip()
    if not given.startswith(INBOUND_PREFIX):
        return False
    given_hex = given.removeprefix(INBOUND_PREFIX)
    # compare_digest rejects non-ASCII str with TypeError, so malformed input is turned
    # away before it; the comparison itself is constant-time so timing leaks nothing.
    if not _HEX_DIGEST.fullmatch(given_hex):
        return False
    expected_hex = inbound_signature(secret, body).removeprefix(INBOUND_PREFIX)
    return hmac.compare_digest(expected_hex, given_hex.lower())
