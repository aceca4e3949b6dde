"""Reading requests safely: bounded JSON bodies into wire models, path ids, the client's address."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from server.appkeys import SETTINGS
from server.errors import ApiError, ErrorCode, invalid

ModelT = TypeVar("ModelT", bound=BaseModel)


def _problems(exc: ValidationError) -> list[dict[str, str]]:
    # Never echo the input: it may be a password.
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "body"
        problems.append({"field": field, "problem": error["msg"]})
    return problems[:20]


async def read_body(request: web.Request, model: type[ModelT]) -> ModelT:
    """Parse the request body as JSON into ``model``; refuse anything else with a clear code."""
    if request.content_type != "application/json":
        raise ApiError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Send a JSON body with Content-Type: application/json.")
    raw = await request.read()  # aiohttp refuses bodies over client_max_size with 413
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise invalid("The body is not valid JSON.") from None
        problems = _problems(exc)
        first = problems[0]
        raise ApiError(
            ErrorCode.INVALID_REQUEST, f"Invalid field '{first['field']}': {first['problem']}.", problems
        ) from None


def path_id(request: web.Request, name: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise ApiError(ErrorCode.NOT_FOUND, "No such resource.") from None


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"Query parameter '{name}' must be an integer.") from None
    if not low <= value <= high:
        raise invalid(f"Query parameter '{name}' must be between {low} and {high}.")
    return value


def client_address(request: web.Request) -> str:
    """The peer's address, or the forwarded client's when the peer is a trusted proxy."""
    peer = request.remote or ""
    trusted = request.app[SETTINGS].trusted_proxies
    if not trusted:
        return peer
    hops = [peer]
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()] + hops
    # Walk from the nearest hop back; the first untrusted one is the client.
    for hop in reversed(hops):
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            return hop[:64]
        if not any(address in network for network in trusted):
            return hop
    return hops[0]


def json_response(payload: Any, status: int = 200) -> web.Response:
    return web.json_response(payload, status=status)
