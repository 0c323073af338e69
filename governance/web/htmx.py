"""htmx helpers: one URL serves a full page or just its fragment."""

from __future__ import annotations

from flask import Response, make_response, render_template, request


def is_htmx() -> bool:
    """An htmx request that wants a fragment; a boosted navigation wants the whole page."""
    return (
        request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"
    )


def page_or_partial(page: str, partial: str, **context) -> Response:
    """Render `partial` for htmx requests and `page` (which includes the partial) otherwise."""
    response = make_response(render_template(partial if is_htmx() else page, **context))
    response.vary.add("HX-Request")
    return response
