"""governance.web.readable: a JSON value as a bounded tree of key/value tables (no app)."""

from __future__ import annotations

from datetime import UTC, datetime

from governance.web import readable


def _rows(node: readable.Node) -> dict[str, readable.Node]:
    assert node.kind == "table"
    return dict(node.rows)


def test_each_kind_of_value_reads_as_a_person_expects():
    rows = _rows(
        readable.readable(
            {
                "ok": True,
                "none": None,
                "count": 3,
                "tags": ["a", None, 2],
                "when": "2026-03-01T09:30:00Z",
                "day": "2026-03-01",
                "empty": {},
                "items": [{"sku": "A"}],
            }
        ).root
    )
    assert rows["ok"].kind == "boolean" and rows["ok"].yes
    assert rows["none"].kind == "none"
    assert rows["count"].text == "3"
    assert rows["tags"].text == "a, —, 2"
    assert rows["when"].when == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert rows["day"].kind == "text"  # a date alone is no moment in time
    assert rows["empty"].kind == "empty"
    assert _rows(_rows(rows["items"])["1"])["sku"].text == "A"


def test_a_naive_iso_time_is_taken_as_utc_and_a_bad_one_stays_text():
    assert readable.readable("2026-03-01 09:30").root.when == datetime(
        2026, 3, 1, 9, 30, tzinfo=UTC
    )
    assert readable.readable("2026-13-45T99:99").root.kind == "text"


def test_a_long_text_is_split_for_show_all_and_cut_at_its_limit():
    node = readable.readable("x" * 50_000).root
    assert len(node.text) == readable.SHORT_TEXT
    assert len(node.text) + len(node.rest) == readable.MAX_TEXT


def test_depth_entries_and_raw_json_are_bounded():
    deep = {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}
    node = readable.readable(deep).root
    for key in "abcd":
        node = _rows(node)[key]
    assert node.kind == "text" and node.text == '{"e": {"f": 1}}'

    wide = readable.readable({f"k{n}": n for n in range(500)})
    assert len(wide.root.rows) == readable.MAX_ENTRIES
    assert wide.root.hidden == 500 - readable.MAX_ENTRIES

    huge = readable.readable(["y" * 1000] * 100)
    assert len(huge.raw) == readable.MAX_RAW and huge.raw_cut > 0
