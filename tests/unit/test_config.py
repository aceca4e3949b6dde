"""Settings from the environment: the embedded default, validation, and production's refusals."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from server.config import ConfigError, Mode, load_settings
from server.turn import ConfiguredIceServers


def test_nothing_set_gives_the_embedded_default(tmp_path: Path) -> None:
    settings = load_settings({"HAVEN_DATA_DIR": str(tmp_path)})
    assert settings.mode is Mode.DEVELOPMENT
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'haven.db'}"
    assert settings.redis_url is None
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.allowed_origins == ("http://127.0.0.1:8080", "http://localhost:8080")
    assert ipaddress.ip_address("127.0.0.1") in settings.metrics_allow[0]
    assert settings.stun_urls == ()  # never a public STUN server by default
    assert settings.mesh_limit == 4
    assert settings.media_addresses == ("127.0.0.1",)  # the forwarder offers the address the node listens on
    assert settings.media_ports is None
    assert settings.forward_video_limit is None  # everyone's video
    assert settings.room_opens_minutes == 10
    assert len(settings.jwt_secret) >= 32
    assert load_settings({"HAVEN_DATA_DIR": str(tmp_path)}).jwt_secret == settings.jwt_secret


def test_values_are_parsed(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "HAVEN_DATA_DIR": str(tmp_path),
            "HAVEN_DATABASE_URL": "postgresql+asyncpg://h@db/haven",
            "HAVEN_REDIS_URL": "redis://r:6379/0",
            "HAVEN_PORT": "9000",
            "HAVEN_JWT_SECRET": "s" * 40,
            "HAVEN_ALLOWED_ORIGINS": "https://a.example.org, https://b.example.org",
            "HAVEN_TURN_URLS": "turn:t.example.org:3478?transport=udp",
            "HAVEN_TURN_SECRET": "t" * 40,
            "HAVEN_TRUSTED_PROXIES": "172.28.0.0/24",
            "HAVEN_LOG_LEVEL": "debug",
            "HAVEN_MESH_LIMIT": "0",
            "HAVEN_MEDIA_WORKERS": "3",
            "HAVEN_MEDIA_PORTS": "40000-40099",
            "HAVEN_MEDIA_PUBLIC_ADDRESS": "203.0.113.7",
            "HAVEN_FORWARD_VIDEO_LIMIT": "6",
            "HAVEN_HOST": "0.0.0.0",  # noqa: S104 - a setting under test; nothing binds here
            "HAVEN_MAX_IN_FLIGHT": "64",
            "HAVEN_ADMISSION_QUEUE": "0",
            "HAVEN_ADMISSION_WAIT_MS": "500",
            "HAVEN_EVENT_LOOP": "asyncio",
            "HAVEN_ROOM_OPENS_MINUTES": "15",
        }
    )
    assert settings.room_opens_minutes == 15
    assert (settings.max_in_flight, settings.admission_queue, settings.admission_wait_ms) == (64, 0, 500)
    assert settings.event_loop == "asyncio"
    assert (settings.mesh_limit, settings.media_workers, settings.forward_video_limit) == (0, 3, 6)
    assert settings.media_ports == (40000, 40099)
    assert settings.media_public_address == "203.0.113.7"
    assert settings.media_addresses == ()  # listening everywhere: the forwarder gathers on every interface
    assert settings.port == 9000
    assert settings.allowed_origins == ("https://a.example.org", "https://b.example.org")
    assert settings.turn_urls == ("turn:t.example.org:3478?transport=udp",)
    assert settings.trusted_proxies == (ipaddress.ip_network("172.28.0.0/24"),)
    assert settings.log_level == "DEBUG"
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"HAVEN_ENV": "staging"}, "HAVEN_ENV"),
        ({"HAVEN_PORT": "eighty"}, "HAVEN_PORT"),
        ({"HAVEN_PORT": "70000"}, "HAVEN_PORT"),
        ({"HAVEN_DATABASE_URL": "mysql://x/y"}, "HAVEN_DATABASE_URL"),
        ({"HAVEN_REDIS_URL": "http://r"}, "HAVEN_REDIS_URL"),
        ({"HAVEN_ALLOWED_ORIGINS": "https://a.example.org/"}, "HAVEN_ALLOWED_ORIGINS"),
        ({"HAVEN_METRICS_ALLOW": "not-a-network"}, "HAVEN_METRICS_ALLOW"),
        ({"HAVEN_LOG_LEVEL": "loud"}, "HAVEN_LOG_LEVEL"),
        ({"HAVEN_TOKEN_TTL_SECONDS": "5"}, "HAVEN_TOKEN_TTL_SECONDS"),
        ({"HAVEN_ICE_POLICY": "direct"}, "HAVEN_ICE_POLICY"),
        ({"HAVEN_CALL_ICE_POLICY": "direct"}, "HAVEN_CALL_ICE_POLICY"),
        # Relay-only without TURN: no client could ever connect.
        ({"HAVEN_ICE_POLICY": "relay"}, "HAVEN_ICE_POLICY=relay needs HAVEN_TURN_URLS and HAVEN_TURN_SECRET"),
        ({"HAVEN_CALL_ICE_POLICY": "relay"}, "HAVEN_CALL_ICE_POLICY=relay needs"),
        ({"HAVEN_ICE_POLICY": "relay", "HAVEN_TURN_URLS": "turn:t.example.org"}, "HAVEN_ICE_POLICY=relay needs"),
        ({"HAVEN_MESH_LIMIT": "-1"}, "HAVEN_MESH_LIMIT"),
        ({"HAVEN_MEDIA_PORTS": "40000-30000"}, "HAVEN_MEDIA_PORTS"),
        ({"HAVEN_MEDIA_PORTS": "80-90"}, "HAVEN_MEDIA_PORTS"),
        ({"HAVEN_MEDIA_PORTS": "many"}, "HAVEN_MEDIA_PORTS"),
        ({"HAVEN_MEDIA_ADDRESSES": "media.example.org"}, "HAVEN_MEDIA_ADDRESSES"),
        ({"HAVEN_MEDIA_WORKERS": "100"}, "HAVEN_MEDIA_WORKERS"),
        ({"HAVEN_MAX_IN_FLIGHT": "0"}, "HAVEN_MAX_IN_FLIGHT"),
        ({"HAVEN_ADMISSION_QUEUE": "-1"}, "HAVEN_ADMISSION_QUEUE"),
        ({"HAVEN_ADMISSION_WAIT_MS": "soon"}, "HAVEN_ADMISSION_WAIT_MS"),
        ({"HAVEN_EVENT_LOOP": "trio"}, "HAVEN_EVENT_LOOP"),
        ({"HAVEN_ROOM_OPENS_MINUTES": "-5"}, "HAVEN_ROOM_OPENS_MINUTES"),
    ],
)
def test_bad_values_are_refused_by_name(tmp_path: Path, env: dict[str, str], complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        load_settings({"HAVEN_DATA_DIR": str(tmp_path), "HAVEN_JWT_SECRET": "s" * 40, **env})


PRODUCTION = {"HAVEN_ENV": "production", "HAVEN_ALLOWED_ORIGINS": "https://haven.example.org"}


@pytest.mark.parametrize("secret", [None, "", "changeme", "secret", "x" * 31])
def test_production_needs_a_real_secret(tmp_path: Path, secret: str | None) -> None:
    env = {"HAVEN_DATA_DIR": str(tmp_path), **PRODUCTION}
    if secret is not None:
        env["HAVEN_JWT_SECRET"] = secret
    with pytest.raises(ConfigError, match="HAVEN_JWT_SECRET"):
        load_settings(env)
    assert not (tmp_path / "jwt-secret").exists()


def test_production_with_its_secrets_starts(tmp_path: Path) -> None:
    settings = load_settings({"HAVEN_DATA_DIR": str(tmp_path), "HAVEN_JWT_SECRET": "k" * 48, **PRODUCTION})
    assert settings.mode is Mode.PRODUCTION
    assert settings.allowed_origins == ("https://haven.example.org",)


TURN = {"HAVEN_TURN_URLS": "turn:t.example.org:3478?transport=udp", "HAVEN_TURN_SECRET": "t" * 40}


@pytest.mark.parametrize(
    ("env", "policy"),
    [
        ({}, "all"),
        ({"HAVEN_ICE_POLICY": "relay", **TURN}, "relay"),
        # The older name, from when only calls had a policy, still works on its own...
        ({"HAVEN_CALL_ICE_POLICY": "relay", **TURN}, "relay"),
        # ...and the new one wins when both are set.
        ({"HAVEN_ICE_POLICY": "all", "HAVEN_CALL_ICE_POLICY": "relay", **TURN}, "all"),
        ({"HAVEN_ICE_POLICY": "relay", "HAVEN_CALL_ICE_POLICY": "all", **TURN}, "relay"),
    ],
)
def test_the_ice_policy_reaches_the_ice_servers_handed_to_rooms_and_calls(
    tmp_path: Path, env: dict[str, str], policy: str
) -> None:
    settings = load_settings({"HAVEN_DATA_DIR": str(tmp_path), "HAVEN_JWT_SECRET": "s" * 40, **env})
    assert settings.ice_policy == policy
    assert ConfiguredIceServers(settings).transport_policy == policy
