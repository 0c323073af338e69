"""The audit chain's canonical hash, without a database."""

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from governance.audit import chain


def _event(**overrides):
    event = {
        "created_at": datetime(2026, 11, 23, 9, 30, 0, tzinfo=UTC),
        "actor_id": 7,
        "action": "policy.updated",
        "object_type": "policy",
        "object_id": 42,
        "summary": "Updated “Données” policy",
        "changes": {"title": {"before": "Old", "after": "New"}},
    }
    return {**event, **overrides}


def test_the_hash_is_sha256_of_sorted_compact_json_of_content_position_and_link():
    # Every stored chain was hashed this way: a different digest here means existing chains
    # would no longer verify.
    canonical = (
        '{"action":"policy.updated","actor_id":7,'
        '"changes":{"title":{"after":"New","before":"Old"}},'
        '"created_at":"2026-11-23T09:30:00.000000+00:00","object_id":42,'
        '"object_type":"policy","prev_hash":"","seq":1,"summary":"Updated “Données” policy"}'
    )
    digest = chain.event_hash(_event(), seq=1, prev_hash=chain.GENESIS_HASH)
    assert digest == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert digest == "0dcb73769b47e21698ea40b59ea5dc93c6e7ee168a924fc9f0c88ec507c3fadc"


def test_the_hash_is_sha256_hex():
    digest = chain.event_hash(_event(), seq=1, prev_hash="")
    assert len(digest) == 64
    assert set(digest) <= set("0123456789abcdef")


def test_key_order_in_changes_does_not_change_the_hash():
    forwards = _event(changes={"a": {"before": 1, "after": 2}, "b": {"before": "x", "after": "y"}})
    backwards = _event(changes={"b": {"after": "y", "before": "x"}, "a": {"after": 2, "before": 1}})
    assert chain.event_hash(forwards, seq=3, prev_hash="p") == chain.event_hash(
        backwards, seq=3, prev_hash="p"
    )


def test_the_same_moment_in_another_timezone_hashes_the_same():
    utc = _event()
    paris = _event(created_at=utc["created_at"].astimezone(timezone(timedelta(hours=1))))
    assert chain.event_hash(utc, seq=1, prev_hash="") == chain.event_hash(
        paris, seq=1, prev_hash=""
    )


def test_whole_seconds_are_spelled_with_microseconds():
    assert chain.timestamp_text(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == (
        "2026-01-02T03:04:05.000000+00:00"
    )


def test_a_naive_timestamp_is_refused():
    with pytest.raises(ValueError, match="naive"):
        chain.event_hash(_event(created_at=datetime(2026, 1, 1)), seq=1, prev_hash="")


def test_canonical_json_keeps_unicode_and_drops_spaces():
    assert chain.canonical_json({"b": "é", "a": [1, None]}) == '{"a":[1,null],"b":"é"}'


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("created_at", datetime(2026, 11, 23, 9, 30, 0, 1, tzinfo=UTC)),
        ("actor_id", 8),
        ("actor_id", None),
        ("action", "policy.created"),
        ("object_type", "workflow"),
        ("object_id", 43),
        ("summary", "Updated “Donnees” policy"),
        ("changes", {}),
    ],
)
def test_changing_any_field_changes_the_hash(field, value):
    original = chain.event_hash(_event(), seq=5, prev_hash="abc")
    assert chain.event_hash(_event(**{field: value}), seq=5, prev_hash="abc") != original


def test_position_and_previous_hash_are_part_of_the_hash():
    original = chain.event_hash(_event(), seq=5, prev_hash="abc")
    assert chain.event_hash(_event(), seq=6, prev_hash="abc") != original
    assert chain.event_hash(_event(), seq=5, prev_hash="abd") != original


def test_link_numbers_events_after_the_head_and_links_each_to_the_one_before():
    events = [_event(summary=f"event {n}") for n in range(3)]
    linked = chain.link(events, after_seq=10, after_hash="head")
    assert [event["seq"] for event in linked] == [11, 12, 13]
    assert linked[0]["prev_hash"] == "head"
    assert linked[1]["prev_hash"] == linked[0]["hash"]
    assert linked[2]["prev_hash"] == linked[1]["hash"]
    for event in linked:
        assert event["hash"] == chain.event_hash(
            event, seq=event["seq"], prev_hash=event["prev_hash"]
        )


def test_link_leaves_the_given_events_untouched():
    events = [_event()]
    chain.link(events, after_seq=0, after_hash=chain.GENESIS_HASH)
    assert "hash" not in events[0]


def test_linking_nothing_gives_nothing():
    assert chain.link([], after_seq=4, after_hash="x") == []
