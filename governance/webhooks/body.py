"""The body of an outbound webhook request: a JSON template (or, left empty, Steward's default
payload), checked when the workflow is saved by rendering it against stand-in values, and
rendered when the step runs. No database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from jinja2 import meta

from governance.engine import templating
from governance.engine.templating import TemplateError

STAND_IN = "stand-in"


class StandIn:
    """A value not known when the workflow is saved. Any field of it is another stand-in; it
    prints as a bare word, so a value written outside quotes shows up as not JSON, and `tojson`
    makes it a JSON string."""

    def __getattr__(self, name: str) -> StandIn:
        if name.startswith("_"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key: Any) -> StandIn:
        return self

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return True

    def __str__(self) -> str:
        return STAND_IN

    def __lt__(self, other: Any) -> bool:
        return False

    __le__ = __gt__ = __ge__ = __lt__


class BodyNotJson(ValueError):
    """A rendered body that is not JSON; the message says where, fit for the form."""


def stand_in_data(source: str) -> dict[str, Any]:
    """What a body template is checked against: a stand-in for every name it reads (whether
    the step will have them is the definition's names check)."""
    names = meta.find_undeclared_variables(templating.parse(source))
    return {name: StandIn() for name in names - templating.GLOBAL_NAMES}


def check_json(text: str, *, what: str = "The body", where: str = "") -> None:
    """BodyNotJson unless `text` is one JSON value, saying the line and column of the problem."""
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        lines = text.splitlines()
        line = lines[error.lineno - 1].strip() if error.lineno <= len(lines) else ""
        hint = (
            " Outside quotes, write a template value as {{ … | tojson }}."
            if STAND_IN in line
            else ""
        )
        quoted = f", in “{line[:80]}”" if line else ""
        raise BodyNotJson(
            f"{what} is not valid JSON: {error.msg} at line {error.lineno}, column "
            f"{error.colno}{where}{quoted}.{hint}"
        ) from error


def check_body_template(source: str) -> str | None:
    """What is wrong with a body template, in words, or None. Empty means the default payload."""
    if not source.strip():
        return None
    try:
        text = templating.render(source, stand_in_data(source))
    except TemplateError as error:
        return f"The body template does not render: {error}"
    except (TypeError, ValueError):
        # An operation stand-ins cannot take part in (arithmetic, say): the run checks the JSON.
        return None
    templated = "{{" in source or "{%" in source
    try:
        check_json(text, where=" of the body rendered with stand-ins" if templated else "")
    except BodyNotJson as error:
        return str(error)
    return None


def render_body(source: str, data: dict[str, Any]) -> str:
    """The body as sent: the template rendered with the step's data, checked to be JSON
    (BodyNotJson, TemplateError)."""
    text = templating.render(source, data)
    if len(text) >= templating.MAX_RENDERED:
        # The render stops there, so what it gave is a cut body, not the one meant.
        raise BodyNotJson(
            f"The rendered body is longer than {templating.MAX_RENDERED:,} characters."
        )
    check_json(text, what="The rendered body")
    return text
