"""Request middleware: errors in one shape, route-level metrics and logs, protective response headers."""

from __future__ import annotations

import logging
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from server.appkeys import METRICS
from server.db.engine import database_unavailable
from server.errors import ApiError, ErrorCode, error_body

log = logging.getLogger("haven.http")

_HTTP_CODES = {
    400: (ErrorCode.INVALID_REQUEST, "The request is malformed."),
    401: (ErrorCode.NOT_AUTHENTICATED, "Sign in first."),
    403: (ErrorCode.NOT_AUTHORIZED, "You are not allowed to do that."),
    404: (ErrorCode.NOT_FOUND, "Nothing is here."),
    405: (ErrorCode.METHOD_NOT_ALLOWED, "This method is not allowed here."),
    413: (ErrorCode.PAYLOAD_TOO_LARGE, "The request body is too large."),
    415: (ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Send a JSON body with Content-Type: application/json."),
}

_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self), geolocation=()",
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; "
        "media-src 'self' blob:; style-src 'self'; script-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
}


def route_template(request: web.Request) -> str:
    """The matched route's template (``/api/groups/{id}``): safe to log, never a concrete id."""
    resource = request.match_info.route.resource
    if resource is None:
        return "unmatched"
    canonical = resource.canonical
    return canonical if canonical.startswith("/") else "static"


def _error_response(
    code: ErrorCode, message: str, status: int, details: list[dict[str, str]] | None = None
) -> web.Response:
    return web.json_response(error_body(code, message, details), status=status)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every refusal into ``{"error": {"code", "message"}}`` with the matching status."""
    try:
        return await handler(request)
    except ApiError as exc:
        return web.json_response(exc.body(), status=exc.status, headers=exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, message = _HTTP_CODES.get(exc.status, (ErrorCode.INVALID_REQUEST, exc.reason))
        response = _error_response(code, message, exc.status)
        if exc.status == 405 and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception as exc:
        if database_unavailable(exc):
            # The type only: the text of a database error holds SQL.
            log.warning(
                "database unavailable",
                extra={"route": route_template(request), "method": request.method, "error": type(exc).__name__},
            )
            return _error_response(ErrorCode.UNAVAILABLE, "The service is not answering just now. Try again soon.", 503)
        log.exception("unhandled error", extra={"route": route_template(request), "method": request.method})
        return _error_response(ErrorCode.INTERNAL, "Something went wrong on our side.", 500)


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count, time and log each request by route template, and add protective headers."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        elapsed = time.perf_counter() - started
        route = route_template(request)
        metrics = request.app[METRICS]
        metrics.http_requests.labels(request.method, route, str(status)).inc()
        metrics.http_duration.labels(route).observe(elapsed)
        log.info(
            "http request",
            extra={"method": request.method, "route": route, "status": status, "ms": round(elapsed * 1000, 1)},
        )
