"""Webhook signatures: Standard Webhooks both ways, the legacy sha256= HMAC for inbound."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from governance.webhooks.signing import (
    inbound_signature,
    new_inbound_secret,
    new_signing_secret,
    sign_standard_webhook,
    standard_form,
    standard_webhook_headers,
    verify_inbound_signature,
    verify_standard_webhook,
)

# The test vector published with the Standard Webhooks specification's reference libraries.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _expected_signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def test_standard_webhook_signature_matches_an_independent_hmac_of_id_timestamp_and_body():
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    body = b'{"event": "policy.published", "id": 7}'

    signature = sign_standard_webhook(secret, "msg_42", 1700000000, body)

    assert signature == _expected_signature(key, "msg_42", 1700000000, body)


def test_standard_webhook_signature_reproduces_the_specifications_test_vector():
    assert sign_standard_webhook(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_a_secret_without_the_whsec_prefix_is_used_as_its_utf8_bytes():
    signature = sign_standard_webhook("plain-shared-secret", "msg_1", 1, b"{}")

    assert signature == _expected_signature(b"plain-shared-secret", "msg_1", 1, b"{}")


def test_a_whsec_secret_that_is_not_base64_is_refused():
    with pytest.raises(ValueError, match="base64"):
        sign_standard_webhook("whsec_not base64!", "msg_1", 1, b"{}")


def test_new_signing_secrets_hold_32_random_bytes_after_the_prefix():
    first, second = new_signing_secret(), new_signing_secret()

    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32
    assert first != second


def test_standard_webhook_headers_carry_id_timestamp_signature_and_json_type():
    headers = standard_webhook_headers(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)

    assert headers == {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": "1614265330",
        "webhook-signature": SPEC_SIGNATURE,
        "content-type": "application/json",
    }


def test_inbound_signature_is_sha256_prefixed_hex_hmac_of_the_body():
    body = b'{"policy": 3}'

    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()

    assert inbound_signature("s3cret", body) == expected


def test_inbound_signature_round_trips():
    secret = new_inbound_secret()
    body = b'{"action": "review"}'

    assert verify_inbound_signature(secret, body, inbound_signature(secret, body))


def test_inbound_signature_in_upper_case_hex_or_with_surrounding_spaces_still_verifies():
    body = b"{}"
    hex_digest = inbound_signature("k", body).removeprefix("sha256=")

    assert verify_inbound_signature("k", body, f"  sha256={hex_digest.upper()} ")


def test_new_inbound_secrets_are_long_and_distinct():
    first, second = new_inbound_secret(), new_inbound_secret()

    assert len(first) >= 43
    assert first != second


def test_a_tampered_body_does_not_verify():
    header = inbound_signature("k", b'{"amount": 1}')

    assert not verify_inbound_signature("k", b'{"amount": 100}', header)


def test_a_signature_made_with_another_secret_does_not_verify():
    header = inbound_signature("someone-else", b"{}")

    assert not verify_inbound_signature("k", b"{}", header)


def test_nothing_verifies_against_an_empty_secret():
    assert not verify_inbound_signature("", b"{}", inbound_signature("", b"{}"))


@pytest.mark.parametrize(
    "header_value",
    [
        None,
        "",
        "sha256=",
        "sha1=" + "0" * 40,
        "sha256=" + "z" * 64,
        "sha256=" + "0" * 63,
        "sha256=" + "é" * 64,
        "v1,abc",
        "garbage",
    ],
)
def test_a_missing_or_malformed_header_does_not_verify(header_value):
    assert not verify_inbound_signature("k", b"{}", header_value)


def test_the_bare_hex_digest_without_its_prefix_does_not_verify():
    hex_digest = inbound_signature("k", b"{}").removeprefix("sha256=")

    assert not verify_inbound_signature("k", b"{}", hex_digest)


def test_with_two_secrets_the_signature_header_holds_one_v1_value_for_each():
    other = new_signing_secret()

    headers = standard_webhook_headers([SPEC_SECRET, other], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)

    first, second = headers["webhook-signature"].split(" ")
    assert first == SPEC_SIGNATURE
    assert second == sign_standard_webhook(other, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)


def test_a_standard_signature_verifies_and_any_change_to_id_timestamp_or_body_does_not():
    args = (SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)

    assert verify_standard_webhook(SPEC_SECRET, *args, SPEC_SIGNATURE)
    assert verify_standard_webhook(SPEC_SECRET, *args, f"v2,xyz {SPEC_SIGNATURE}")
    assert not verify_standard_webhook(SPEC_SECRET, "msg_other", *args[1:], SPEC_SIGNATURE)
    assert not verify_standard_webhook(
        SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP + 1, SPEC_BODY, SPEC_SIGNATURE
    )
    assert not verify_standard_webhook(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, b"{}", SPEC_SIGNATURE)
    assert not verify_standard_webhook(new_signing_secret(), *args, SPEC_SIGNATURE)


@pytest.mark.parametrize(
    "header_value",
    [
        None,
        "",
        "v1",
        "v1,",
        "v1,not base64!",
        "v1,é",
        SPEC_SIGNATURE.replace("v1", "v2"),
        "garbage",
    ],
)
def test_a_missing_or_malformed_standard_signature_does_not_verify(header_value):
    assert not verify_standard_webhook(
        SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, header_value
    )


def test_nothing_verifies_standard_signatures_against_an_empty_secret():
    assert not verify_standard_webhook("", SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, SPEC_SIGNATURE)


def test_the_standard_form_of_an_older_secret_keys_the_hmac_with_the_same_bytes():
    old = "pre-standard-webhooks-secret"

    form = standard_form(old)

    assert form.startswith("whsec_")
    assert sign_standard_webhook(form, "m", 1, b"{}") == sign_standard_webhook(old, "m", 1, b"{}")
    assert standard_form(SPEC_SECRET) == SPEC_SECRET


def test_new_inbound_secrets_are_standard_webhooks_secrets():
    assert base64.b64decode(new_inbound_secret().removeprefix("whsec_"), validate=True)
