"""Addresses that moved: the old path answers with a permanent redirect to the new one, the
rest of the path and the query string kept, so bookmarks and links in stored notifications
and emails still arrive."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from flask import Blueprint, current_app, redirect, request
from werkzeug.wrappers import Response

from governance.extensions import csrf

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


class _MovedPrefix:
    """The view answering every address under one old prefix."""

    def __init__(self, new: str) -> None:
        self.new = new
        self.__name__ = "moved"  # how Flask-WTF names a view it exempts

    def __call__(self, rest: str = "") -> Response:
        location = request.script_root + self.new + (f"/{quote(rest)}" if rest else "")
        if request.query_string:
            location += "?" + request.query_string.decode("utf-8", "replace")
        # 301 for a page (browsers and caches remember it); 308 repeats the method and the
        # body, which a 301 lets a client turn into a GET.
        return redirect(location, 301 if request.method in ("GET", "HEAD") else 308)


def new_path(endpoint: str, view_args: Mapping[str, Any]) -> str | None:
    """Where a matched old address moved to; None for any other endpoint."""
    view = current_app.view_functions.get(endpoint)
    if not isinstance(view, _MovedPrefix):
        return None
    rest = view_args.get("rest", "")
    return view.new + (f"/{rest}" if rest else "")


def redirect_prefix(bp: Blueprint, old: str, new: str) -> None:
    """Answer `old` and every path under it with a permanent redirect to the same under `new`."""
    # The redirect changes nothing, and the new address checks a form's token itself.
    view = csrf.exempt(_MovedPrefix(new))
    endpoint = "moved" + old.replace("/", "_").replace("-", "_")
    bp.add_url_rule(old, endpoint, view, methods=METHODS)
    bp.add_url_rule(f"{old}/<path:rest>", endpoint, view, methods=METHODS)
