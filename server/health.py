"""Liveness, readiness and metrics endpoints."""

from __future__ import annotations

import asyncio
import ipaddress
import logging

from aiohttp import web
from sqlalchemy import text

from server.appkeys import ENGINE, METRICS, REDIS, SETTINGS
from server.errors import not_authorized
from server.metrics import CONTENT_TYPE
from server.requests import client_address

log = logging.getLogger("haven.health")
routes = web.RouteTableDef()
CHECK_TIMEOUT = 2.0


@routes.get("/healthz")
async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _database_answers(request: web.Request) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT), request.app[ENGINE].connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
    except Exception as exc:
        log.warning("database check failed", extra={"error": type(exc).__name__})
        return False


async def _redis_answers(request: web.Request) -> bool | None:
    client = request.app[REDIS]
    if client is None:
        return None
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await client.ping()
        return True
    except Exception as exc:
        log.warning("redis check failed", extra={"error": type(exc).__name__})
        return False


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """200 only while every configured backing service answers."""
    database, redis_ok = await asyncio.gather(_database_answers(request), _redis_answers(request))
    checks = {"database": "ok" if database else "down"}
    if redis_ok is not None:
        checks["redis"] = "ok" if redis_ok else "down"
    ready = database and redis_ok is not False
    request.app[METRICS].ready.set(1 if ready else 0)
    return web.json_response(
        {"status": "ready" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus exposition, only to the addresses in HAVEN_METRICS_ALLOW."""
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        raise not_authorized("Metrics are not served to this address.") from None
    if not any(address in network for network in request.app[SETTINGS].metrics_allow):
        raise not_authorized("Metrics are not served to this address.")
    return web.Response(body=request.app[METRICS].render(), headers={"Content-Type": CONTENT_TYPE})
