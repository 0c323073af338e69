"""Friendly error pages; a user never sees a stack trace (the log has it)."""

from __future__ import annotations

import contextlib

import sqlalchemy as sa
from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from governance.dbutil import is_database_unreachable
from governance.errors import DomainError
from governance.extensions import db
from governance.web import problems
from governance.web.htmx import is_htmx

TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Changed by someone else",
    413: "Too large",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Database unavailable",
}

MESSAGES = {
    400: "The request could not be understood.",
    403: "You do not have permission to do that.",
    404: "There is nothing here. It may have been removed, or the address is wrong.",
    405: "That action is not available here.",
    413: "What you sent is too large.",
    429: "Too many requests. Please wait a moment and try again later.",
    500: "Steward hit an unexpected error. It has been logged; please try again.",
    503: "Steward cannot reach its database right now; try again in a minute.",
}
RETRY_AFTER_SECONDS = 60


def render_error(status: int, message: str | None = None):
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    context = {
        "status": status,
        "title": TITLES.get(status, "Error"),
        "message": message or MESSAGES.get(status, "The request failed."),
    }
    return render_template(template, **context), status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400,
            "The form expired or was not sent from Steward (missing or invalid CSRF token). "
            "Reload the page and try again.",
        )

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        if problems.is_api_request():
            return problems.domain_error_response(error)
        return render_error(error.status_code, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if problems.is_api_request():
            return problems.http_error_response(error)
        status = error.code or 500
        # A description given to abort() is meant for the user; werkzeug's stock text is not.
        custom = error.description if error.description != type(error).description else None
        return render_error(status, custom)

    @app.errorhandler(sa.exc.DBAPIError)
    def database_error(error: sa.exc.DBAPIError):
        if not is_database_unreachable(error):
            return unexpected_error(error)
        # One line, no traceback: during an outage every request lands here.
        app.logger.warning("Database unreachable (%s): %s", type(error.orig).__name__, error.orig)
        _forget_session()
        if problems.is_api_request():
            return problems.database_unavailable_response(MESSAGES[503], RETRY_AFTER_SECONDS)
        # A page of its own, rendered without the context processors: base.html and Flask-Login's
        # processor read current_user, and loading a user needs the database that just failed.
        template = "errors/_error.html" if is_htmx() else "errors/unavailable.html"
        body = app.jinja_env.get_template(template).render(
            status=503, title=TITLES[503], message=MESSAGES[503]
        )
        return body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        if problems.is_api_request():
            return problems.unexpected_error_response()
        app.logger.exception("Unhandled error")
        # The one cleanup after an error no view expected: the error page must not render
        # from a failed or half-written transaction (a command's unit rolled its own back).
        db.session.rollback()
        return render_error(500)


def _forget_session() -> None:
    """Drop the failed session; its connection is gone, so even a rollback may fail."""
    # The pool discards the dead connection; the next request gets a fresh one.
    with contextlib.suppress(sa.exc.DBAPIError):
        db.session.remove()
