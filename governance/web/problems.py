"""One JSON error shape for the callers that are machines (the API and the inbound webhook):
{"error": {"code", "message", "details"}}.

Never HTML, never a stack trace: anything unexpected is logged and answered with a plain 500.
The page error handlers (governance.web.errors) hand these callers' paths here.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from governance.errors import Conflict, DomainError, NotAllowed, NotFound
from governance.extensions import db

API_PREFIX = "/api/"
HOOKS_PREFIX = "/hooks/"
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    503: "database_unavailable",
}


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: list[dict] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, dict[str, Any]] = {
        "error": {"code": code or CODES.get(status, "error"), "message": message}
    }
    body["error"]["details"] = details or []
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def _domain_status(error: DomainError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, NotAllowed):
        return 403
    if isinstance(error, Conflict):
        return 409
    return 422  # a rule refused the values sent: the request was well-formed


def is_api_request() -> bool:
    """A request answered with this module's JSON errors: the API's, and the inbound webhook's
    (POST /hooks/<id>), which machines call too."""
    return request.path.startswith((API_PREFIX, HOOKS_PREFIX))


def domain_error_response(error: DomainError, status: int | None = None) -> Response:
    """The refusal as an API error: by default with the API's status for its kind; `status`
    for callers whose refusals carry their own (the inbound webhook's 400, 401, 413...)."""
    # A command's unit has rolled back already; this is for a refusal raised outside one
    # (a check before any command, an engine operation), so nothing half-done is left behind.
    db.session.rollback()
    details = [{"field": error.field, "message": error.message}] if error.field else []
    return error_response(status or _domain_status(error), error.message, details=details)


def http_error_response(error: HTTPException) -> Response:
    status = error.code or 500
    custom = error.description if error.description != type(error).description else None
    message = custom or {
        404: "There is no such resource.",
        405: f"{request.method} is not allowed here.",
    }.get(status, (error.description or "The request failed.").strip())
    headers = {}
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    return error_response(status, message, headers=headers)


def unexpected_error_response() -> Response:
    current_app.logger.exception("Unhandled API error")
    # The one cleanup after an error no handler expected: the session may hold a failed or
    # half-written transaction, and the error response must not depend on it.
    db.session.rollback()
    return error_response(500, "Steward hit an unexpected error; it has been logged.")


def database_unavailable_response(message: str, retry_after: int) -> Response:
    return error_response(503, message, headers={"Retry-After": str(retry_after)})
