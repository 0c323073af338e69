"""The reader's time zone for this request, and `moment(dt)`, the template function behind the
`when` macro of _macros.html."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from flask import Flask, g, has_request_context, request
from flask_login import current_user

from governance.timeutil import utcnow
from governance.web.times import Moment, describe, resolve_zone

# Set by static/js/timezone.js from the browser's Intl API; only a hint, checked against the
# zone database like any other input.
ZONE_COOKIE = "tz"


def current_zone() -> tzinfo:
    """The account's zone, else the browser's, else UTC (also outside a request: emails and
    exports keep UTC)."""
    if not has_request_context():
        return UTC
    if "reader_zone" not in g:
        setting = getattr(current_user, "time_zone", None)  # None when logged out
        g.reader_zone = resolve_zone(setting, request.cookies.get(ZONE_COOKIE))
    return g.reader_zone


def moment(value: datetime) -> Moment:
    return describe(value, utcnow(), current_zone())


def init_app(app: Flask) -> None:
    app.add_template_global(moment, "moment")
