"""Errors every layer may raise; the API turns each into its status code and a JSON message."""

from __future__ import annotations


class AlertwireError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra: dict[str, object] = {}


class NotFound(AlertwireError):
    status_code = 404
    code = "not_found"


class Conflict(AlertwireError):
    status_code = 409
    code = "conflict"


class Invalid(AlertwireError):
    status_code = 422
    code = "invalid"


class TooLarge(AlertwireError):
    status_code = 413
    code = "too_large"
