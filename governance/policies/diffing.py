"""Side-by-side comparison of two texts, with changed words highlighted (difflib)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from markupsafe import Markup, escape

_TOKENS = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass(frozen=True)
class DiffRow:
    kind: str  # "equal", "replace", "delete", "insert"
    left_number: int | None
    left: Markup
    right_number: int | None
    right: Markup


def _highlight_words(old: str, new: str) -> tuple[Markup, Markup]:
    """Escape both lines and wrap the words that differ in <del> / <ins>."""
    old_tokens, new_tokens = _TOKENS.findall(old), _TOKENS.findall(new)
    matcher = difflib.SequenceMatcher(None, old_tokens, new_tokens, autojunk=False)
    left, right = [], []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        old_part = escape("".join(old_tokens[i1:i2]))
        new_part = escape("".join(new_tokens[j1:j2]))
        if op == "equal":
            left.append(old_part)
            right.append(new_part)
            continue
        if old_part:
            left.append(Markup("<del>%s</del>") % old_part)
        if new_part:
            right.append(Markup("<ins>%s</ins>") % new_part)
    return Markup("").join(left), Markup("").join(right)


def side_by_side(old_text: str, new_text: str) -> list[DiffRow]:
    old_lines, new_lines = old_text.splitlines(), new_text.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    rows: list[DiffRow] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            rows.extend(
                DiffRow("equal", i + 1, escape(old_lines[i]), j + 1, escape(new_lines[j]))
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
            continue
        old_chunk, new_chunk = old_lines[i1:i2], new_lines[j1:j2]
        for offset in range(max(len(old_chunk), len(new_chunk))):
            old = old_chunk[offset] if offset < len(old_chunk) else None
            new = new_chunk[offset] if offset < len(new_chunk) else None
            if old is not None and new is not None:
                left, right = _highlight_words(old, new)
                rows.append(DiffRow("replace", i1 + offset + 1, left, j1 + offset + 1, right))
            elif old is not None:
                rows.append(DiffRow("delete", i1 + offset + 1, escape(old), None, Markup("")))
            else:
                rows.append(DiffRow("insert", None, Markup(""), j1 + offset + 1, escape(new)))
    return rows


def changed_count(rows: list[DiffRow]) -> int:
    return sum(row.kind != "equal" for row in rows)
