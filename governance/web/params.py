"""Integers and dates from the URL, and NUL characters: ids in paths through the `int` converter
(404 when no row can have them), query-string values through arg_int / arg_date and form id
lists through form_ids (400 with the reason), and no NUL in any page request (400)."""

from __future__ import annotations

from datetime import date

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter, Map

from governance.parsing import ID_MAX, parse_date, parse_int
from governance.web.problems import is_api_request

FORM_MIMETYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _one_to(limit: int) -> str:
    """A regular expression for the decimal numbers 1..limit, written without leading zeros."""
    digits = str(limit)
    shorter = rf"[1-9]\d{{0,{len(digits) - 2}}}" if len(digits) > 1 else None
    same_length = []
    for position, digit in enumerate(digits):
        lowest = 1 if position == 0 else 0
        if int(digit) > lowest:
            rest = len(digits) - position - 1
            same_length.append(f"{digits[:position]}[{lowest}-{int(digit) - 1}]\\d{{{rest}}}")
    same_length.append(digits)
    return "(?:" + "|".join(filter(None, [shorter, *same_length])) + ")"


class IdConverter(IntegerConverter):
    """`<int:...>` in every route, web and API: only what an id column holds (1..ID_MAX).

    Anything else does not match the route, so it is a plain 404 before any view or query runs.
    The range is in the pattern, not only in to_python: werkzeug answers a value that to_python
    refuses with 405 when another rule has the same path (the API's GET/PUT/DELETE), not 404.
    """

    regex = _one_to(ID_MAX)

    def __init__(self, map: Map, fixed_digits: int = 0, min: int = 1, max: int = ID_MAX) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max)


def init_app(app: Flask) -> None:
    # Before any blueprint adds a rule: a rule binds its converter when it is added.
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul_characters)


def refuse_nul_characters() -> None:
    """A 400 for a NUL character in the path, query string or form of a page request.

    PostgreSQL text cannot hold one (the query raises), no form offers one, and a view should
    not have to know. The JSON API checks its own input against its schema.
    """
    if is_api_request():
        return
    pairs = list(request.args.items(multi=True))
    if request.mimetype in FORM_MIMETYPES:
        pairs += request.form.items(multi=True)
    if "\x00" in request.path or any("\x00" in key + value for key, value in pairs):
        abort(400, "The request contains a NUL character (\\0), which Steward cannot store.")


def arg_int(name: str, default: int | None = None, *, minimum: int = 1, maximum: int = ID_MAX):
    """?name= as a whole number in range, `default` when absent or empty, else a 400."""
    text = request.args.get(name, "")
    if not text.strip():
        return default
    try:
        return parse_int(text, minimum=minimum, maximum=maximum)
    except ValueError as error:
        abort(400, f"“{name}” in the address: {error}")


def arg_date(name: str) -> date | None:
    """?name= as a date the app can compute with, None when absent or empty, else a 400."""
    text = request.args.get(name, "")
    if not text.strip():
        return None
    try:
        return parse_date(text)
    except ValueError as error:
        abort(400, f"“{name}” in the address: {error}")


def form_ids(name: str) -> list[int]:
    """Every ?name= of the posted form as an id, or a 400 if one is not an id."""
    try:
        return [parse_int(value) for value in request.form.getlist(name)]
    except ValueError as error:
        abort(400, f"“{name}”: {error}")
