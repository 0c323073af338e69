"""CSV downloads: streamed in chunks, every cell guarded against formula injection."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_CHUNK = 500


def csv_safe(value: Any) -> Any:
    """Text a spreadsheet would run as a formula, quoted with a leading ' so it stays text."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_chunks(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, rows_per_chunk: int = ROWS_PER_CHUNK
) -> Iterator[str]:
    """The header, then the rows (None as empty), as text chunks of a few hundred rows each."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for count, row in enumerate(rows, start=1):
        writer.writerow([csv_safe("" if value is None else value) for value in row])
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A whole CSV file as text."""
    return "".join(csv_chunks(columns, rows))
