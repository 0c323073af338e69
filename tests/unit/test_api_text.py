"""The API's text types: the document's patterns say exactly what the validators accept."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter, ValidationError

from governance.api.text import BLANK, NO_NUL_PATTERN, NOT_BLANK_PATTERN, required_text

REASON = TypeAdapter(required_text(20))


def test_blank_is_what_the_services_split_on():
    assert "".join(c for c in map(chr, range(0x110000)) if c.isspace()) == BLANK


@pytest.mark.parametrize(
    "text", ["x", "  x ", "\x1fx\x1f", "\ufeff", "a\u3000b", "", " ", "\x1c\x85\u2028", "a\x00"]
)
def test_required_text_accepts_exactly_what_its_pattern_matches(text):
    # A JSON Schema regex is ECMA-262; these patterns use no construct where it and Python differ.
    matches = re.search(NOT_BLANK_PATTERN, text) is not None
    try:
        REASON.validate_python(text)
    except ValidationError:
        accepted = False
    else:
        accepted = True
    assert accepted == matches


def test_required_text_keeps_the_text_without_surrounding_blanks():
    assert REASON.validate_python("\u2003 Old job \n") == "Old job"


def test_text_refuses_nul_as_its_pattern_says():
    assert re.search(NO_NUL_PATTERN, "a\x00b") is None
    assert re.search(NO_NUL_PATTERN, "a\u0001b") is not None
