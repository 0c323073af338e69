"""Models every API area shares: the error body, pages of results and their cursors, strict
moments and dates, and the JSON Schema generator the document is built with."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from governance.timeutil import as_utc

# The largest id every database holds: ids are PostgreSQL `integer` columns (32 bits), which
# refuse to compare with a larger number (a 500, not a 404); SQLite stops at 64 bits.
MAX_ID = 2**31 - 1


def _as_utc(moment: datetime) -> datetime:
    try:
        return as_utc(moment)
    except OverflowError:
        # 0001-01-01T00:00+01:00 is before the first UTC moment (9999-12-31T23:59-01:00 after
        # the last): a valid RFC 3339 value, so it filters as the nearest moment there is.
        edge = datetime.min if moment.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC)


# What `format: date-time` (RFC 3339) and `format: date` allow, and nothing else: pydantic's lax
# parsing would also take a number of seconds ("0.5"), a bare date, or a moment with no offset.
_RFC3339_MOMENT = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
_RFC3339_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _rfc3339(pattern: re.Pattern, example: str):
    def check(value: object) -> object:
        # A date (or datetime) object comes from Python callers, never from JSON.
        if isinstance(value, date) or (isinstance(value, str) and pattern.fullmatch(value)):
            return value
        raise ValueError(f"Give an RFC 3339 value, e.g. {example}.")

    return BeforeValidator(check)


# A moment in a filter: timezone-aware UTC, as the database compares it.
UTCDatetime = Annotated[
    datetime,
    _rfc3339(_RFC3339_MOMENT, "2025-05-01T00:00:00Z"),
    AfterValidator(_as_utc),
    Field(description="RFC 3339 with an offset, e.g. 2025-05-01T00:00:00Z."),
]
# A day sent in a body: YYYY-MM-DD.
Day = Annotated[date, _rfc3339(_RFC3339_DAY, "2025-05-01")]


def _whole_number(value):
    # JSON Schema's "integer" is any number with no fraction (73.0 included); true and "73"
    # are not numbers at all, though pydantic's lax int would take them.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be a whole number")
    return value


# An integer as JSON Schema means it: 73 and 73.0, never true or "73". Put it after any
# Field(ge=..., le=...) in the Annotated: before it, pydantic documents ge/le, not min/max.
WHOLE_NUMBER = BeforeValidator(_whole_number)


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


# A cursor is the id a page ended at, as text: every string of this shape is a cursor (one past
# every id starts from the newest), so the API never refuses one the document allows.
CURSOR_PATTERN = r"^[0-9]{1,10}$"


class PageQuery(BaseModel):
    """Cursor pagination: pass back `next_cursor` as `cursor` for the following page."""

    cursor: str | None = Field(
        default=None, pattern=CURSOR_PATTERN, description="`next_cursor` of the previous page."
    )
    limit: int = Field(default=50, ge=1, le=200)


def encode_cursor(last_id: int) -> str:
    return str(last_id)


def decode_cursor(cursor: str) -> int | None:
    """The id a cursor's page continues after, or None for "from the newest" (beyond any id)."""
    after = int(cursor)
    return after if after <= MAX_ID else None


class DocumentSchema(GenerateJsonSchema):
    """Pydantic's JSON Schema, valid OpenAPI 3.1: a field that may be left out but not sent as
    null (`title: Title = None`, "unchanged when left out") gets no `"default": null`, which
    its own schema would refuse."""

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        if json_schema.get("default", ...) is None and not _allows_null(json_schema):
            del json_schema["default"]
        return json_schema


def _allows_null(json_schema: JsonSchemaValue) -> bool:
    kinds = json_schema.get("type")
    if kinds == "null" or (isinstance(kinds, list) and "null" in kinds):
        return True
    return any(_allows_null(option) for option in json_schema.get("anyOf", ()))
