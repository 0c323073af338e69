"""Text fields a request may carry: anything but NUL, which PostgreSQL cannot store in text
(sent on, it would end as a 500 instead of a 422 naming the field); and text that must not be
blank. The document's `pattern` says exactly what the validators accept."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, GetJsonSchemaHandler, StringConstraints
from pydantic_core import core_schema

# What "blank" means: the characters str.isspace() knows (the services' split() and strip()),
# spelled out for the document's pattern, since a JSON Schema regex's \s is another set.
BLANK = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_BLANK_CLASS = "".join(f"\\u{ord(char):04x}" for char in BLANK)
NO_NUL_PATTERN = "^[^\\u0000]*$"
NOT_BLANK_PATTERN = f"^[^\\u0000]*[^\\u0000{_BLANK_CLASS}][^\\u0000]*$"


def _without_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("The NUL character (\\u0000) cannot be stored; remove it.")
    return text


def _not_blank(text: str) -> str:
    stripped = text.strip(BLANK)
    if not stripped:
        raise ValueError("This cannot be blank.")
    return stripped


class _Pattern:
    """Documents a pattern that the validators beside it enforce (with clearer messages than a
    regex failure would give)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema


no_nul = AfterValidator(_without_nul)
text_pattern = _Pattern(NO_NUL_PATTERN)
# Constraints go before `no_nul` (Annotated[str, StringConstraints(...), no_nul]): pydantic
# ignores StringConstraints added around an already validated type.
Text = Annotated[str, no_nul, text_pattern]


def required_text(max_length: int) -> Any:
    """Text with at least one character that is not blank; surrounding blanks are dropped.
    The length counts what was sent."""
    return Annotated[
        str,
        StringConstraints(min_length=1, max_length=max_length),
        no_nul,
        AfterValidator(_not_blank),
        _Pattern(NOT_BLANK_PATTERN),
    ]
