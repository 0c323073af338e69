"""The body of an inbound webhook call: parsed and checked before anything is written.

Pure (no database, no Flask). JSON in UTF-8, an object, nested at most MAX_DEPTH deep; text
normalised to NFC, NUL characters and lone surrogates (which PostgreSQL cannot store, so the
execution would fail on every retry) refused; numbers finite and integers within 64 bits;
`policy_id` an exact integer (`true` is not policy 1).
"""

from __future__ import annotations

import json
import math
import unicodedata
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_DEPTH = 20
LARGEST_INT = 2**63 - 1


class BodyRefused(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class HookBody(BaseModel):
    """The fields Steward reads itself; every other field is trigger data as sent."""

    model_config = ConfigDict(extra="allow", strict=True)

    policy_id: Annotated[int, Field(ge=1, le=LARGEST_INT)] | None = None


def _refuse_constant(name: str) -> Any:
    raise BodyRefused(f"{name} is not a JSON number; send a finite number.")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BodyRefused(f"The key “{key}” appears twice in one object.")
        result[key] = value
    return result


def _text(value: str, where: str | None) -> str:
    if "\x00" in value:
        raise BodyRefused("The NUL character (\\u0000) is not accepted.", where)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        message = "A lone surrogate (half of a \\u escape pair) is not text."
        raise BodyRefused(message, where) from error
    return unicodedata.normalize("NFC", value)


def _clean(value: Any, where: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise BodyRefused(f"The body is nested deeper than {MAX_DEPTH} levels.", where or None)
    if isinstance(value, str):
        return _text(value, where)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if not -LARGEST_INT - 1 <= value <= LARGEST_INT:
            raise BodyRefused("Integers must fit in 64 bits.", where)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BodyRefused("Numbers must be finite.", where)
        return value
    if isinstance(value, list):
        return [
            _clean(item, f"{where}.{index}" if where else str(index), depth + 1)
            for index, item in enumerate(value)
        ]
    cleaned: dict[str, Any] = {}
    for key, item in value.items():
        name = _text(key, where or None)
        path = f"{where}.{name}" if where else name
        if name in cleaned:  # two spellings of one key that NFC makes the same
            raise BodyRefused(f"The key “{name}” appears twice in one object.", path)
        cleaned[name] = _clean(item, path, depth + 1)
    return cleaned


def parse_hook_body(body: bytes) -> tuple[dict[str, Any], int | None]:
    """The trigger data (normalised) and the policy id of a webhook call's body, or
    BodyRefused saying what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BodyRefused("The body is not UTF-8 text.") from error
    try:
        payload = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except RecursionError as error:  # [[[[... deeper than Python's own stack
        raise BodyRefused(f"The body is nested deeper than {MAX_DEPTH} levels.") from error
    except BodyRefused:
        raise
    except ValueError as error:
        raise BodyRefused(f"The body is not valid JSON: {error}.") from error
    if not isinstance(payload, dict):
        raise BodyRefused("The body must be a JSON object.")
    payload = _clean(payload, "", 1)
    try:
        fields = HookBody.model_validate(payload)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise BodyRefused(f"{field}: {first['msg']}." if field else first["msg"], field) from error
    return payload, fields.policy_id
