"""Integers and dates from the URL: ids in paths through the `int` converter (404 when no row can
have them) and query-string values through arg_int / arg_date (400 with the reason)."""

from __future__ import annotations

from datetime import date

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter, Map

from governance.parsing import ID_MAX, parse_date, parse_int


class IdConverter(IntegerConverter):
    """`<int:...>` in every route, web and API: only what an id column holds (1..ID_MAX).

    Anything else does not match the route, so it is a plain 404 before any view or query runs.
    """

    def __init__(self, map: Map, fixed_digits: int = 0, min: int = 1, max: int = ID_MAX) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max)


def init_app(app: Flask) -> None:
    # Before any blueprint adds a rule: a rule binds its converter when it is added.
    app.url_map.converters["int"] = IdConverter


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
