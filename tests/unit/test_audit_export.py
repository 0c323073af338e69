"""The audit CSV's cells and chunks, without a database."""

import csv
import io
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from governance.audit import export


def _event(**overrides):
    fields = {
        "seq": 1,
        "created_at": datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
        "actor_email": "admin@example.test",
        "action": "policy.updated",
        "object_type": "policy",
        "object_id": 42,
        "summary": "Edited",
        "changes": {"title": {"before": "A", "after": "B"}},
        "hash": "ab" * 32,
    }
    return SimpleNamespace(**(fields | overrides))


@pytest.mark.parametrize("text", ["=HYPERLINK(1)", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"])
def test_text_a_spreadsheet_would_run_is_quoted(text):
    assert export.csv_safe(text) == "'" + text


@pytest.mark.parametrize("value", ["Edited policy", "", "a=b", 42, None])
def test_other_values_are_left_alone(value):
    assert export.csv_safe(value) == value


def test_a_row_has_every_column_with_utc_time_and_json_changes():
    cells = export.csv_cells(_event())
    assert dict(zip(export.COLUMNS, cells, strict=True)) == {
        "seq": 1,
        "created_at": "2026-11-23T09:30:00.000000+00:00",
        "actor_email": "admin@example.test",
        "action": "policy.updated",
        "object_type": "policy",
        "object_id": 42,
        "summary": "Edited",
        "changes": '{"title":{"after":"B","before":"A"}}',
        "hash": "ab" * 32,
    }


def test_a_system_event_has_empty_actor_and_object_cells():
    cells = export.csv_cells(_event(actor_email=None, object_id=None))
    assert cells[2] == "" and cells[5] == ""


def test_a_formula_in_a_summary_is_quoted_in_the_row():
    cells = export.csv_cells(_event(summary='=HYPERLINK("http://evil")'))
    assert cells[6] == '\'=HYPERLINK("http://evil")'


def test_chunks_hold_the_header_then_every_row_once():
    events = [_event(seq=number, summary=f'line\n{number}, quoted "x"') for number in range(7)]
    chunks = list(export.csv_chunks(events, rows_per_chunk=3))
    assert len(chunks) == 3  # rows 1-3, 4-6, then 7 (the header rides in the first)
    rows = list(csv.reader(io.StringIO("".join(chunks))))
    assert rows[0] == list(export.COLUMNS)
    assert [row[0] for row in rows[1:]] == [str(number) for number in range(7)]
    assert rows[3][6] == 'line\n2, quoted "x"'


def test_no_events_give_just_the_header():
    assert "".join(export.csv_chunks([])).splitlines() == [",".join(export.COLUMNS)]
