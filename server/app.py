"""The aiohttp application: routes, middleware, and the resources opened for its lifetime."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from aiohttp import web

from server import api, health, middleware, webclient
from server.appkeys import DB, ENGINE, LOGIN_THROTTLE, METRICS, REDIS, SETTINGS
from server.config import Settings
from server.db.engine import create_engine, session_factory
from server.login_throttle import LoginThrottle
from server.metrics import Metrics
from server.migrate import upgrade

log = logging.getLogger("haven.app")


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    engine = create_engine(settings.database_url)
    if settings.is_sqlite:
        # The embedded default has no separate install step: its schema follows the code.
        await upgrade(engine)
    app[ENGINE] = engine
    app[DB] = session_factory(engine)
    yield
    await engine.dispose()


async def _redis(app: web.Application) -> AsyncIterator[None]:
    url = app[SETTINGS].redis_url
    if url is None:
        app[REDIS] = None
        yield
        return
    # Opened lazily: a node starts while Redis is down and reports 503 on /readyz until it returns.
    client = aioredis.Redis.from_url(
        url, socket_timeout=2.0, socket_connect_timeout=2.0, health_check_interval=10, decode_responses=False
    )
    app[REDIS] = client
    yield
    await client.aclose()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[middleware.observe, middleware.errors])
    app[SETTINGS] = settings
    app[METRICS] = Metrics()
    app[LOGIN_THROTTLE] = LoginThrottle()
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_redis)
    app.router.add_routes(health.routes)
    api.add_routes(app)
    webclient.add_routes(app, settings.web_dir)
    return app
