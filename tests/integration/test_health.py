"""Health, readiness against real services, metrics access, and the served web client."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient

from server.app import create_app
from tests.conftest import make_settings
from tests.support.services import PrivateRedis


async def test_healthz_answers(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_readyz_checks_the_database(client: TestClient) -> None:
    response = await client.get("/readyz")
    assert response.status == 200
    assert await response.json() == {"status": "ready", "checks": {"database": "ok"}}


async def test_readyz_follows_redis_down_and_back(aiohttp_client, tmp_path: Path, database_url: str) -> None:  # type: ignore[no-untyped-def]
    redis = PrivateRedis()
    redis.start()
    try:
        client = await aiohttp_client(create_app(make_settings(tmp_path, database_url, HAVEN_REDIS_URL=redis.url)))
        response = await client.get("/readyz")
        assert (response.status, (await response.json())["checks"]) == (200, {"database": "ok", "redis": "ok"})

        redis.stop()
        response = await client.get("/readyz")
        assert response.status == 503
        assert await response.json() == {"status": "unavailable", "checks": {"database": "ok", "redis": "down"}}
        assert (await client.get("/healthz")).status == 200

        redis.start()
        response = await client.get("/readyz")
        assert response.status == 200
    finally:
        redis.remove()


async def test_readyz_is_503_when_the_database_is_unreachable(
    aiohttp_client, tmp_path: Path, redis_server_url: str
) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, "postgresql+asyncpg://haven@127.0.0.1:9/none", HAVEN_REDIS_URL=redis_server_url)
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/readyz")
    assert response.status == 503
    assert await response.json() == {"status": "unavailable", "checks": {"database": "down", "redis": "ok"}}


async def test_metrics_are_served_only_to_allowed_addresses(aiohttp_client, tmp_path: Path, database_url: str) -> None:  # type: ignore[no-untyped-def]
    allowed = await aiohttp_client(create_app(make_settings(tmp_path, database_url)))
    await allowed.get("/healthz")
    response = await allowed.get("/metrics")
    assert response.status == 200
    text = await response.text()
    assert 'haven_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
    # The forwarder's counters, per worker, from the first scrape on.
    for name in (
        "packets_forwarded_total",
        "bytes_forwarded_total",
        "packets_dropped_total",
        "keyframe_requests_total",
    ):
        assert f'haven_forwarder_{name}{{worker="0"}} 0.0' in text

    refused = await aiohttp_client(create_app(make_settings(tmp_path, database_url, HAVEN_METRICS_ALLOW="10.0.0.0/8")))
    response = await refused.get("/metrics")
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "not_authorized"


async def test_metrics_label_routes_not_ids(api, admin: str) -> None:  # type: ignore[no-untyped-def]
    group_id = await api.group(admin)
    await api.call("GET", f"/api/groups/{group_id}", admin)
    _, text = await api.call("GET", "/metrics")
    assert 'route="/api/groups/{id}"' in text
    assert group_id not in text


async def test_the_web_client_is_served_with_protective_headers(client: TestClient) -> None:
    response = await client.get("/")
    assert response.status == 200
    assert "<h1>Haven</h1>" in await response.text()
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert (await client.get("/app.js")).status == 200
    for path in ("/../pyproject.toml", "/.hidden", "/missing.js", "/%2e%2e/secret"):
        response = await client.get(path)
        assert response.status == 404, path
        assert (await response.json())["error"]["code"] == "not_found"
