"""The inbound webhook body: exact types, bounded depth, text that every database stores."""

from __future__ import annotations

import pytest

from governance.workflows.hook_body import MAX_DEPTH, BodyRefused, parse_hook_body


def _nested(depth: int) -> bytes:
    return b'{"a": ' * (depth - 1) + b"{}" + b"}" * (depth - 1)


def test_a_plain_object_is_the_trigger_data_and_policy_id_is_read_from_it():
    data, policy_id = parse_hook_body(b'{"policy_id": 7, "reason": "ci", "tags": [1, 2.5, null]}')

    assert data == {"policy_id": 7, "reason": "ci", "tags": [1, 2.5, None]}
    assert policy_id == 7


def test_text_is_normalised_to_nfc_in_keys_and_values():
    data, _ = parse_hook_body(b'{"cafe\\u0301": ["e\\u0301"]}')

    assert data == {"café": ["é"]}


def test_an_object_nested_exactly_to_the_limit_is_accepted():
    data, _ = parse_hook_body(_nested(MAX_DEPTH))

    assert data


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"policy_id": true}', "policy_id"),
        (b'{"policy_id": false}', "policy_id"),
        (b'{"policy_id": "1"}', "policy_id"),
        (b'{"policy_id": 1.0}', "policy_id"),
        (b'{"policy_id": 0}', "policy_id"),
        (b'{"policy_id": -3}', "policy_id"),
        (b'{"policy_id": 9223372036854775808}', "64 bits"),
        (b'{"policy_id": [1]}', "policy_id"),
        (b'{"n": 99999999999999999999}', "64 bits"),
        (b'{"n": 1e400}', "finite"),
        (b'{"n": NaN}', "NaN"),
        (b'{"n": -Infinity}', "Infinity"),
        (b'{"a": "\\u0000"}', "NUL"),
        (b'{"\\u0000": 1}', "NUL"),
        (b'{"a": "\\ud800"}', "surrogate"),
        (b'{"a": ["\\udfff x"]}', "surrogate"),
        (b'{"a": "\xed\xa0\x80"}', "UTF-8"),
        (b'{"a": "\xff"}', "UTF-8"),
        (b'{"a": 1, "a": 2}', "twice"),
        (b'{"caf\\u00e9": 1, "cafe\\u0301": 2}', "twice"),
        (_nested(MAX_DEPTH + 1), "nested"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (b'{"a": ' * 5_000 + b"1" + b"}" * 5_000, "nested"),
        (b"[1, 2]", "object"),
        (b'"text"', "object"),
        (b"null", "object"),
        (b"", "JSON"),
        (b"{", "JSON"),
        (b"\xef\xbb\xbf{}", "JSON"),
    ],
)
def test_a_body_outside_the_schema_is_refused_with_a_reason(body, words):
    with pytest.raises(BodyRefused) as refused:
        parse_hook_body(body)

    assert words.lower() in refused.value.message.lower()
