"""The audit trail as CSV, written row by row so an export of any size streams."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from governance.audit.chain import canonical_json, timestamp_text

COLUMNS = (
    "seq",
    "created_at",
    "actor_email",
    "action",
    "object_type",
    "object_id",
    "summary",
    "changes",
    "hash",
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """Text a spreadsheet would run as a formula, quoted with a leading ' so it stays text."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_cells(event: Any) -> list[Any]:
    """One export row: an event's fields in COLUMNS order (changes as JSON, times in UTC)."""
    return [
        csv_safe(value)
        for value in (
            event.seq,
            timestamp_text(event.created_at),
            event.actor_email or "",
            event.action,
            event.object_type,
            "" if event.object_id is None else event.object_id,
            event.summary,
            canonical_json(event.changes),
            event.hash,
        )
    ]


def csv_chunks(events: Iterable[Any], *, rows_per_chunk: int = 500) -> Iterator[str]:
    """The header, then the events' rows, as text chunks of a few hundred rows each."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for count, event in enumerate(events, start=1):
        writer.writerow(csv_cells(event))
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
