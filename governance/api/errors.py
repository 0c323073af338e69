"""The API's own refusals (ApiError) and how request validation reads in them, in the one JSON
error shape of governance.web.problems."""

from __future__ import annotations

from flask import Flask
from pydantic import ValidationError

from governance.extensions import db
from governance.web.problems import CODES, error_response


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: list[dict] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.details = details or []
        self.headers = headers or {}


def validation_details(error: ValidationError) -> list[dict]:
    """Pydantic's errors as {field, message}: every field at once, unknown ones named."""
    details = []
    for item in error.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in item["loc"]) or None
        unknown = item["type"] == "extra_forbidden"
        message = f"Unknown field “{field}”." if unknown else item["msg"]
        details.append({"field": field, "message": message})
    return details


def register(app: Flask) -> None:
    """ApiError's handler (the other errors of API paths are answered by governance.web.errors)."""

    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        # Refused before or outside any command: drop whatever the request had read or written.
        db.session.rollback()
        return error_response(
            error.status,
            error.message,
            code=error.code,
            details=error.details,
            headers=error.headers,
        )
