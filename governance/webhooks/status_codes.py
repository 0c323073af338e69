"""Which HTTP answers count as a delivered webhook: "200-299" (the default) or a list such as
"200, 201, 204" or "200-204, 409". Pure: no Flask, no database."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT = "200-299"
_ITEM = re.compile(r"^(\d{3})(?:\s*-\s*(\d{3}))?$")
MAX_ITEMS = 20


class BadStatusCodes(ValueError):
    """The text does not say which codes; the message is fit to show on the form."""


@dataclass(frozen=True)
class StatusCodes:
    ranges: tuple[tuple[int, int], ...]

    def __contains__(self, status: object) -> bool:
        return isinstance(status, int) and any(low <= status <= high for low, high in self.ranges)

    def __str__(self) -> str:
        return ", ".join(f"{low}" if low == high else f"{low}-{high}" for low, high in self.ranges)


def parse_status_codes(text: str) -> StatusCodes:
    """The codes `text` names; empty means the default (any 2xx)."""
    text = (text or "").strip() or DEFAULT
    items = [item.strip() for item in text.split(",")]
    if len(items) > MAX_ITEMS:
        raise BadStatusCodes(f"At most {MAX_ITEMS} codes or ranges.")
    ranges = []
    for item in items:
        match = _ITEM.match(item)
        if not match:
            raise BadStatusCodes(
                f"“{item}” is not a status code or a range: write e.g. 200-299 or 200, 201, 204."
            )
        low = int(match[1])
        high = int(match[2] or low)
        if not (100 <= low <= 599 and 100 <= high <= 599):
            raise BadStatusCodes(f"“{item}”: HTTP status codes are 100 to 599.")
        if low > high:
            raise BadStatusCodes(f"“{item}”: a range goes from the lower code to the higher.")
        ranges.append((low, high))
    return StatusCodes(tuple(ranges))
