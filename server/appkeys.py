"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from server.config import Settings
from server.login_throttle import LoginThrottle
from server.metrics import Metrics
from signaling.control import LiveControl

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
DB = web.AppKey("db", async_sessionmaker[Any])
# None when HAVEN_REDIS_URL is unset (the embedded default).
REDIS: web.AppKey[aioredis.Redis | None] = web.AppKey("redis")
METRICS = web.AppKey("metrics", Metrics)
# How REST tells the live side what changed (after its commit): the only way it reaches live state.
LIVE: web.AppKey[LiveControl] = web.AppKey("live")
# Failed sign-ins: in Redis when it is configured (shared by every node), in memory otherwise.
LOGIN_THROTTLE: web.AppKey[LoginThrottle] = web.AppKey("login_throttle")
