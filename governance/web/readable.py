"""A JSON value (a step's output, trigger data, a job's arguments) as a bounded tree that
templates/_data.html shows as key/value tables, and the same value as indented JSON.

Bounded, so a huge output never makes a huge page: past a depth, a number of entries or a
total number of cells the rest is counted, not shown, and the raw JSON is cut at a size. The
value comes in already redacted; nothing here knows about secrets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from governance.timeutil import as_utc

MAX_DEPTH = 4  # tables inside tables; deeper values are shown as one line of JSON
MAX_ENTRIES = 50  # keys of one dict or items of one list
MAX_CELLS = 400  # values in the whole tree
SHORT_TEXT = 200  # characters of a string shown before "show all"
MAX_TEXT = 10_000  # characters of one string at all
MAX_RAW = 50_000  # characters of the raw JSON

_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


@dataclass
class Node:
    """One value. kind: "table" (rows of key and node), "text", "datetime", "boolean",
    "none" or "empty"; `hidden` counts the entries of a table left out."""

    kind: str
    text: str = ""
    rest: str = ""  # the part of a long text after the first SHORT_TEXT characters
    when: datetime | None = None
    yes: bool = False
    rows: list[tuple[str, Node]] = field(default_factory=list)
    hidden: int = 0


@dataclass
class Readable:
    root: Node
    raw: str  # indented JSON, cut at MAX_RAW characters
    raw_cut: int  # characters of the JSON left out of `raw`


def readable(value: Any) -> Readable:
    builder = _Builder()
    return Readable(builder.node(value, 0), *_raw_json(value))


def _raw_json(value: Any) -> tuple[str, int]:
    text = json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    if len(text) <= MAX_RAW:
        return text, 0
    return text[:MAX_RAW], len(text) - MAX_RAW


def _as_datetime(text: str) -> datetime | None:
    if not _ISO_DATETIME.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return as_utc(moment)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


class _Builder:
    def __init__(self) -> None:
        self.cells = 0

    def node(self, value: Any, depth: int) -> Node:
        self.cells += 1
        if value is None:
            return Node("none")
        if isinstance(value, bool):
            return Node("boolean", yes=value)
        if isinstance(value, int | float):
            return Node("text", text=str(value))
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, datetime):
            return Node("datetime", when=as_utc(value))
        if isinstance(value, Mapping):
            return self.table(value, [(str(key), item) for key, item in value.items()], depth)
        if isinstance(value, list | tuple):
            if all(_is_scalar(item) for item in value):
                return self.text(", ".join("—" if item is None else str(item) for item in value))
            numbered = [(str(number), item) for number, item in enumerate(value, 1)]
            return self.table(value, numbered, depth)
        return self.text(str(value))

    def text(self, value: str) -> Node:
        if not value:
            return Node("empty")
        if moment := _as_datetime(value):
            return Node("datetime", when=moment)
        value = value[:MAX_TEXT]
        return Node("text", text=value[:SHORT_TEXT], rest=value[SHORT_TEXT:])

    def table(self, value: Any, entries: list[tuple[str, Any]], depth: int) -> Node:
        if not entries:
            return Node("empty")
        if depth >= MAX_DEPTH:
            return self.text(json.dumps(value, sort_keys=True, default=str, ensure_ascii=False))
        table = Node("table")
        for position, (key, item) in enumerate(entries):
            if position >= MAX_ENTRIES or self.cells >= MAX_CELLS:
                table.hidden = len(entries) - position
                break
            table.rows.append((key, self.node(item, depth + 1)))
        return table
