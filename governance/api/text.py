"""Text fields a request may carry: anything but NUL, which PostgreSQL cannot store in text
(sent on, it would end as a 500 instead of a 422 naming the field)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def _without_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("The NUL character (\\u0000) cannot be stored; remove it.")
    return text


no_nul = AfterValidator(_without_nul)
# Constraints go before `no_nul` (Annotated[str, StringConstraints(...), no_nul]): pydantic
# ignores StringConstraints added around an already validated type.
Text = Annotated[str, no_nul]
