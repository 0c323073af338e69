"""What Steward can store and compute with: the one parser of integers and dates that arrive
from people and URLs, refusing values the database columns or the date arithmetic cannot hold."""

from __future__ import annotations

import re
from datetime import date

# Every id, revision number and version column is INTEGER, which PostgreSQL keeps in 32 bits;
# a bigger number in a query raises there (and beyond 64 bits on SQLite too).
ID_MAX = 2**31 - 1
# Time-zone arithmetic and "one period later" overflow near year 1 and year 9999; a governance
# date outside these centuries is a typing slip anyway.
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2999, 12, 31)
DATE_RANGE_MESSAGE = f"Dates must be between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}."
DATE_FORMAT_MESSAGE = "Enter the date as YYYY-MM-DD, e.g. 2030-12-31."

# ASCII digits only: int() also reads "1_000", " ١٢ " and other forms no form offers.
_INTEGER = re.compile(r"-?[0-9]{1,12}")


def parse_int(text: str, *, minimum: int = 1, maximum: int = ID_MAX) -> int:
    """`text` as a whole number from `minimum` to `maximum`, else ValueError saying so."""
    stripped = text.strip()
    if _INTEGER.fullmatch(stripped) and minimum <= int(stripped) <= maximum:
        return int(stripped)
    raise ValueError(f"Enter a whole number from {minimum} to {maximum}.")


def check_date(value: date) -> date:
    """`value` if the app can compute with it, else ValueError with DATE_RANGE_MESSAGE."""
    if not DATE_MIN <= value <= DATE_MAX:
        raise ValueError(DATE_RANGE_MESSAGE)
    return value


def parse_date(text: str) -> date:
    """A YYYY-MM-DD date within DATE_MIN..DATE_MAX, else ValueError saying what is wrong."""
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(DATE_FORMAT_MESSAGE) from None
    return check_date(value)


def id_or_none(raw: object) -> int | None:
    """A stored or posted value (text, number or None) as an id, or None if no row can have it."""
    if raw is None or isinstance(raw, bool):
        return None
    try:
        return parse_int(str(raw))
    except ValueError:
        return None
