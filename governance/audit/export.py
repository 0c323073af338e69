"""The audit trail as CSV, written row by row so an export of any size streams."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from governance.audit.chain import canonical_json, timestamp_text
from governance.csvfile import csv_chunks as rows_csv_chunks
from governance.csvfile import csv_safe

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
    return rows_csv_chunks(COLUMNS, map(csv_cells, events), rows_per_chunk=rows_per_chunk)
