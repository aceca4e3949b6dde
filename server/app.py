"""The aiohttp application: routes, middleware, the real-time server, and the resources it holds.

The engine and the Redis client are created with the application (both connect lazily) and closed by its
cleanup context, so a node starts while Redis is down and reports 503 on /readyz until it returns.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from aiohttp import web
from redis.backoff import NoBackoff
from redis.retry import Retry

import signaling.mount
from media.cluster import ClusterPlane
from media.network import MediaNetwork
from media.plane import LocalPlane
from media.pool import WorkerPool
from server import api, health, middleware, webclient
from server.appkeys import DB, ENGINE, LIVE, LOGIN_THROTTLE, METRICS, REDIS, SETTINGS
from server.call_records import DatabaseCallRecords
from server.chat_repository import DatabaseChatRepository
from server.checkin_store import DatabaseProgramRecords
from server.config import Settings
from server.db.engine import create_engine, session_factory
from server.directory import DatabaseAccounts, DatabaseGroups, DatabasePairings
from server.live_metrics import LiveCollector
from server.login_throttle_redis import login_throttle
from server.metrics import Metrics
from server.migrate import upgrade
from server.room_records import DatabaseRoomRecords
from server.turn import ConfiguredIceServers
from signaling.mount import Backends

log = logging.getLogger("haven.app")


async def _resources(app: web.Application) -> AsyncIterator[None]:
    if app[SETTINGS].is_sqlite:
        # The embedded default has no separate install step: its schema follows the code.
        await upgrade(app[ENGINE])
    yield
    redis = app[REDIS]
    if redis is not None:
        await redis.aclose()
    await app[ENGINE].dispose()


def _redis(settings: Settings) -> aioredis.Redis | None:
    if settings.redis_url is None:
        return None
    # Fail fast while Redis is away: the room-state store falls back to this node's copies at once.
    return aioredis.Redis.from_url(
        settings.redis_url,
        socket_timeout=2.0,
        socket_connect_timeout=1.0,
        health_check_interval=10,
        retry=Retry(NoBackoff(), 1),
    )


def _media_plane(settings: Settings, redis: aioredis.Redis | None) -> LocalPlane | WorkerPool | ClusterPlane:
    network = MediaNetwork(
        addresses=settings.media_addresses,
        ports=settings.media_ports,
        public_address=settings.media_public_address,
        ice_servers=[{"urls": list(settings.stun_urls)}] if settings.stun_urls else [],
    )
    local: LocalPlane | WorkerPool
    if settings.media_workers:
        local = WorkerPool(
            network=network,
            mesh_limit=settings.mesh_limit,
            video_limit=settings.forward_video_limit,
            workers=settings.media_workers,
        )
    else:
        local = LocalPlane(network=network, mesh_limit=settings.mesh_limit, video_limit=settings.forward_video_limit)
    if redis is None:
        return local
    # Several nodes: a lease in Redis gives each room's media to one node's forwarder.
    return ClusterPlane(redis=redis, node_id=settings.node_id, prefix=settings.redis_prefix, local=local)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[middleware.observe, middleware.errors])
    engine = create_engine(settings.database_url)
    app[SETTINGS] = settings
    app[ENGINE] = engine
    app[DB] = session_factory(engine)
    app[REDIS] = _redis(settings)
    app[METRICS] = Metrics()
    app[LOGIN_THROTTLE] = login_throttle(app[REDIS], settings.redis_prefix)
    app.cleanup_ctx.append(_resources)
    app.router.add_routes(health.routes)
    api.add_routes(app)
    media = _media_plane(settings, app[REDIS])
    app[METRICS].watch_forwarder(media.stats)
    backends = Backends(
        accounts=DatabaseAccounts(app[DB], settings.jwt_secret),
        groups=DatabaseGroups(app[DB], room_opens_minutes=settings.room_opens_minutes),
        pairings=DatabasePairings(app[DB]),
        room_records=DatabaseRoomRecords(app[DB]),
        call_records=DatabaseCallRecords(app[DB]),
        chat=DatabaseChatRepository(app[DB]),
        ice_servers=ConfiguredIceServers(settings),
        media=media,
        program=DatabaseProgramRecords(app[DB]),
    )
    live = signaling.mount.build(settings, app[REDIS], backends)
    app[METRICS].watch(LiveCollector(live, engine))
    signaling.mount.attach(app, live)
    # REST tells the live side what changed through this one interface, after its commit.
    app[LIVE] = live.control
    webclient.add_routes(app, settings.web_dir)
    return app
