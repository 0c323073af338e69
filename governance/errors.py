"""Domain exceptions: services raise them, views turn them into form errors or 4xx pages."""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused the change; the message is safe to show to the user."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(DomainError):
    status_code = 403


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    """Someone else changed the object first (stale form, already decided)."""

    status_code = 409
