"""Errors as clients see them: one shape, stable codes, a plain sentence.

``{"error": {"code": "not_authorized", "message": "..."}}`` is the body of every refused REST request and the
``error`` of every refused Socket.IO acknowledgement. A code may add fields of its own (``retry_after`` of
``rate_limited``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    INVALID_REQUEST = "invalid_request"
    NOT_AUTHENTICATED = "not_authenticated"
    NOT_AUTHORIZED = "not_authorized"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate_limited"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal_error"


HTTP_STATUS = {
    ErrorCode.INVALID_REQUEST: 400,
    ErrorCode.NOT_AUTHENTICATED: 401,
    ErrorCode.NOT_AUTHORIZED: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.CONFLICT: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL: 500,
    ErrorCode.UNAVAILABLE: 503,
}


class ApiError(Exception):
    """A refusal meant for the client: reported with its code, and the server goes on.

    ``extra`` adds fields of the code's own beside ``code`` and ``message`` (``retry_after`` of ``rate_limited``);
    ``headers`` go on the HTTP response (``Retry-After``) and are not part of the body.
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        details: list[dict[str, str]] | None = None,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.code]

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details, self.extra)


def error_body(
    code: ErrorCode,
    message: str,
    details: list[dict[str, str]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code.value, "message": message}
    if details:
        error["details"] = details
    if extra:
        error.update(extra)
    return {"error": error}


def not_authenticated(message: str = "Sign in first.") -> ApiError:
    return ApiError(ErrorCode.NOT_AUTHENTICATED, message)


def not_authorized(message: str = "You are not allowed to do that.") -> ApiError:
    return ApiError(ErrorCode.NOT_AUTHORIZED, message)


def not_found(what: str) -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND, f"No such {what}.")


def conflict(message: str) -> ApiError:
    return ApiError(ErrorCode.CONFLICT, message)


def invalid(message: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_REQUEST, message)


def rate_limited(message: str, retry_after: int) -> ApiError:
    """A 429 that says, in the body and in ``Retry-After``, how many whole seconds until trying again is worth it."""
    seconds = max(1, retry_after)
    return ApiError(
        ErrorCode.RATE_LIMITED, message, extra={"retry_after": seconds}, headers={"Retry-After": str(seconds)}
    )
