"""Absolute links to Steward's pages, for everything read outside the app: emails, digests and
webhook payloads. Built from STEWARD_BASE_URL alone, with or without a request.

Not url_for(_external=True): outside a request it needs SERVER_NAME, and setting SERVER_NAME
makes Flask answer 404 to any request whose Host differs (a proxy, 127.0.0.1 vs localhost).
Inside a request it would take the host from the Host header, which a client chooses: a link
in an email must never point wherever the request that caused it said.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def absolute_url(endpoint: str, **values) -> str:
    """The absolute URL of a Flask endpoint under the base URL (its path prefix included)."""
    base = urlsplit(current_app.config["STEWARD_BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


def absolute_link(path: str) -> str:
    """A path inside Steward ("/approvals", as notifications store it) as an absolute URL."""
    return current_app.config["STEWARD_BASE_URL"] + "/" + path.lstrip("/")
