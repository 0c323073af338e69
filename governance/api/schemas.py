"""Models every API area shares: the error body, pages of results and their cursors."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# The largest id every database holds: ids are PostgreSQL `integer` columns (32 bits), which
# refuse to compare with a larger number (a 500, not a 404); SQLite stops at 64 bits.
MAX_ID = 2**31 - 1


def _as_utc(moment: datetime) -> datetime:
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError as error:  # 0001-01-01T00:00+01:00 is before the first UTC moment
        raise ValueError("The moment is out of range.") from error


# A moment in a filter: timezone-aware UTC as the database compares it; no offset means UTC.
UTCDatetime = Annotated[
    datetime,
    AfterValidator(_as_utc),
    Field(description="ISO 8601, e.g. 2025-05-01T00:00:00Z; no offset means UTC."),
]


class Strict(BaseModel):
    """A request body: unknown fields are refused (and named), not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    field: str | None = Field(description="The field at fault, dotted for nested ones.")
    message: str
    allowed: list[str] | None = Field(
        default=None, description="Values that would have been accepted, where they are few."
    )


class ErrorInfo(BaseModel):
    code: str = Field(description="A stable, machine-readable code, e.g. `not_found`.")
    message: str
    details: list[ErrorDetail]


class ErrorBody(BaseModel):
    error: ErrorInfo


class PageQuery(BaseModel):
    """Cursor pagination: pass back `next_cursor` as `cursor` for the following page."""

    cursor: str | None = Field(default=None, description="From the previous page.")
    limit: int = Field(default=50, ge=1, le=200)


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor points after; raises ValueError for anything that is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise ValueError("not a cursor") from error
    kind, _, number = text.partition(":")
    if kind != "id" or not number.isdigit() or int(number) > MAX_ID:
        raise ValueError("not a cursor")
    return int(number)
