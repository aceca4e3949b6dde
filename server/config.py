"""Typed settings read from ``HAVEN_*`` environment variables.

With no variable set, Haven runs its embedded default: one process, an SQLite file in the data directory,
no Redis, a JWT secret generated once and kept beside the database. Production mode refuses to start
unless the secrets and origins a multi-node deployment needs are given explicitly.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Secrets that appear in examples and must never protect a real deployment.
KNOWN_WEAK_SECRETS = frozenset({"", "secret", "changeme", "change-me", "haven", "development", "test"})
MIN_SECRET_LENGTH = 32
SECRET_FILE_NAME = "jwt-secret"  # noqa: S105 - a file name, not a secret


# Connections the kernel holds for the server to accept: a crowd arriving at once (a program's groups starting
# together) must not overflow it (aiohttp's default is 128; the kernel caps it at net.core.somaxconn).
LISTEN_BACKLOG = 4096


class ConfigError(Exception):
    """The environment does not describe a server that may start."""


class Mode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the process needs to know about its deployment."""

    mode: Mode
    data_dir: Path
    database_url: str
    redis_url: str | None
    host: str
    port: int
    jwt_secret: str
    token_ttl_seconds: int
    allowed_origins: tuple[str, ...]
    metrics_allow: tuple[IPNetwork, ...]
    trusted_proxies: tuple[IPNetwork, ...]
    stun_urls: tuple[str, ...]
    turn_urls: tuple[str, ...]
    turn_secret: str | None
    turn_ttl_seconds: int
    log_level: str
    max_body_bytes: int
    web_dir: Path
    # Real-time: how long a dropped member keeps their place, how often nodes sweep, how long a silent
    # node's connections are kept, how many connections one account may hold, and this node's name.
    grace_seconds: int = 30
    sweep_ms: int = 1000
    presence_ttl_seconds: int = 6
    max_connections_per_user: int = 5
    # Admission (signaling/admission.py): requests and connects in flight per node, how many may wait for a slot,
    # and for how long before they are refused with ``busy``.
    max_in_flight: int = 32
    # The event loop ``haven serve`` runs on: "uvloop" (libuv's, faster) or "asyncio" (the standard library's).
    event_loop: str = "uvloop"
    admission_queue: int = 256
    admission_wait_ms: int = 2000
    max_queued_packets: int = 512
    chat_retention_days: int = 30
    # How long before a scheduled session starts its room lets participants in (a facilitator opens it any time).
    room_opens_minutes: int = 10
    redis_prefix: str = "haven:"
    node_id: str = ""
    # One-on-one calls: how long a call rings before it counts as missed.
    call_ring_seconds: int = 45
    # Whether clients in calls and group rooms must relay all media through TURN ("relay", which keeps each person's
    # network address from the others) or may connect directly ("all").
    ice_policy: str = "all"
    # Group-room media: members a mesh carries before the forwarder takes over (0: always the forwarder), the
    # forwarder's worker processes (0: the forwarder runs inside the node's own process), where its media sockets are (addresses, an inclusive UDP port range, the address
    # announced behind NAT), and how many speakers' video it forwards besides the facilitators' (None: everyone's).
    mesh_limit: int = 4
    media_workers: int = 1
    media_addresses: tuple[str, ...] = ()
    media_ports: tuple[int, int] | None = None
    media_public_address: str | None = None
    forward_video_limit: int | None = None
    # Server processes ``haven serve`` runs on the one port (server/workers.py); each is a node of its own.
    workers: int = 1
    # The program's help and crisis line, shown to everyone (signed in or not) by the web client; None: none.
    help_text: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _default_web_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "web" / "dist"


def _split(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _networks(name: str, value: str | None) -> tuple[IPNetwork, ...]:
    try:
        return tuple(ipaddress.ip_network(part, strict=False) for part in _split(value))
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name, "").strip() or default
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _prefix(value: str) -> str:
    if len(value) > 64 or not all(ch.isalnum() or ch in ":-_." for ch in value):
        raise ConfigError("HAVEN_REDIS_PREFIX must be up to 64 letters, digits or ':-_.'")
    return value


def _ice_policy(env: Mapping[str, str], relay_possible: bool) -> str:
    """``HAVEN_ICE_POLICY``, or its older name ``HAVEN_CALL_ICE_POLICY`` (from when only calls had it); the new
    name wins when both are set. ``relay`` is refused without TURN: no client could connect at all."""
    name = "HAVEN_ICE_POLICY" if env.get("HAVEN_ICE_POLICY") else "HAVEN_CALL_ICE_POLICY"
    policy = env.get(name) or "all"
    if policy not in {"all", "relay"}:
        raise ConfigError(f"{name} must be 'all' or 'relay', got {policy!r}")
    if policy == "relay" and not relay_possible:
        raise ConfigError(f"{name}=relay needs HAVEN_TURN_URLS and HAVEN_TURN_SECRET")
    return policy


HELP_TEXT_MAX = 2000


def _help_text(value: str | None) -> str | None:
    """``HAVEN_HELP_TEXT``: plain text of up to 2,000 characters; line breaks and tabs are its only controls."""
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > HELP_TEXT_MAX:
        raise ConfigError(f"HAVEN_HELP_TEXT must be at most {HELP_TEXT_MAX} characters")
    if any(unicodedata.category(ch).startswith("C") and ch not in "\n\t" for ch in text.replace("\r\n", "\n")):
        raise ConfigError("HAVEN_HELP_TEXT must be plain text: no control characters but line breaks")
    return text.replace("\r\n", "\n")


def _stored_secret(data_dir: Path) -> str:
    """Return the embedded default's JWT secret, creating it (mode 0600) on first run."""
    path = data_dir / SECRET_FILE_NAME
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return secret


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from ``env`` (default: the process environment), validating every value."""
    env = os.environ if env is None else env
    mode_raw = env.get("HAVEN_ENV", Mode.DEVELOPMENT.value)
    try:
        mode = Mode(mode_raw)
    except ValueError:
        raise ConfigError(f"HAVEN_ENV must be 'development' or 'production', got {mode_raw!r}") from None

    data_dir = Path(env.get("HAVEN_DATA_DIR") or "var").resolve()
    database_url = env.get("HAVEN_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'haven.db'}"
    if not database_url.startswith(("sqlite+aiosqlite:", "postgresql+asyncpg:")):
        raise ConfigError("HAVEN_DATABASE_URL must use sqlite+aiosqlite:// or postgresql+asyncpg://")
    redis_url = env.get("HAVEN_REDIS_URL") or None
    if redis_url is not None and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("HAVEN_REDIS_URL must be a redis://, rediss:// or unix:// URL")

    host = env.get("HAVEN_HOST") or "127.0.0.1"
    port = _int(env, "HAVEN_PORT", 8080, 0, 65535)

    jwt_secret = env.get("HAVEN_JWT_SECRET")
    turn_urls = _split(env.get("HAVEN_TURN_URLS"))
    turn_secret = env.get("HAVEN_TURN_SECRET") or None
    allowed_origins = _split(env.get("HAVEN_ALLOWED_ORIGINS"))

    if mode is Mode.PRODUCTION:
        if jwt_secret is None:
            raise ConfigError("production mode needs HAVEN_JWT_SECRET, shared by all nodes")
        if jwt_secret.strip().lower() in KNOWN_WEAK_SECRETS or len(jwt_secret) < MIN_SECRET_LENGTH:
            raise ConfigError(f"HAVEN_JWT_SECRET must be a random value of at least {MIN_SECRET_LENGTH} characters")
        if not allowed_origins:
            raise ConfigError("production mode needs HAVEN_ALLOWED_ORIGINS (the public origin of the web client)")
        if turn_urls and (turn_secret is None or len(turn_secret) < MIN_SECRET_LENGTH):
            raise ConfigError(f"HAVEN_TURN_URLS needs HAVEN_TURN_SECRET of at least {MIN_SECRET_LENGTH} characters")
    elif jwt_secret is None:
        jwt_secret = _stored_secret(data_dir)

    if not allowed_origins:
        shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104 - comparing, not binding
        allowed_origins = (f"http://{shown}:{port}", f"http://localhost:{port}")
    for origin in allowed_origins:
        if not origin.startswith(("http://", "https://")) or origin.endswith("/"):
            raise ConfigError(f"HAVEN_ALLOWED_ORIGINS entries are scheme://host[:port], got {origin!r}")

    ice_policy = _ice_policy(env, relay_possible=bool(turn_urls and turn_secret))

    log_level = (env.get("HAVEN_LOG_LEVEL") or "info").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError("HAVEN_LOG_LEVEL must be debug, info, warning or error")

    return Settings(
        mode=mode,
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        host=host,
        port=port,
        jwt_secret=jwt_secret,
        token_ttl_seconds=_int(env, "HAVEN_TOKEN_TTL_SECONDS", 12 * 3600, 60, 30 * 24 * 3600),
        allowed_origins=allowed_origins,
        metrics_allow=_networks("HAVEN_METRICS_ALLOW", env.get("HAVEN_METRICS_ALLOW", "127.0.0.1/32,::1/128")),
        trusted_proxies=_networks("HAVEN_TRUSTED_PROXIES", env.get("HAVEN_TRUSTED_PROXIES")),
        stun_urls=_split(env.get("HAVEN_STUN_URLS")),
        turn_urls=turn_urls,
        turn_secret=turn_secret,
        turn_ttl_seconds=_int(env, "HAVEN_TURN_TTL_SECONDS", 3600, 60, 24 * 3600),
        log_level=log_level,
        max_body_bytes=_int(env, "HAVEN_MAX_BODY_BYTES", 64 * 1024, 1024, 1024 * 1024),
        web_dir=Path(env.get("HAVEN_WEB_DIR") or _default_web_dir()),
        grace_seconds=_int(env, "HAVEN_GRACE_SECONDS", 30, 0, 3600),
        sweep_ms=_int(env, "HAVEN_SWEEP_MS", 1000, 50, 60_000),
        presence_ttl_seconds=_int(env, "HAVEN_PRESENCE_TTL_SECONDS", 6, 2, 600),
        max_connections_per_user=_int(env, "HAVEN_MAX_CONNECTIONS_PER_USER", 5, 1, 100),
        max_in_flight=_int(env, "HAVEN_MAX_IN_FLIGHT", 32, 1, 10_000),
        event_loop=_choice(env, "HAVEN_EVENT_LOOP", "uvloop", ("uvloop", "asyncio")),
        admission_queue=_int(env, "HAVEN_ADMISSION_QUEUE", 256, 0, 100_000),
        admission_wait_ms=_int(env, "HAVEN_ADMISSION_WAIT_MS", 2000, 0, 60_000),
        max_queued_packets=_int(env, "HAVEN_MAX_QUEUED_PACKETS", 512, 16, 100_000),
        chat_retention_days=_int(env, "HAVEN_CHAT_RETENTION_DAYS", 30, 0, 36_500),
        room_opens_minutes=_int(env, "HAVEN_ROOM_OPENS_MINUTES", 10, 0, 24 * 60),
        redis_prefix=_prefix(env.get("HAVEN_REDIS_PREFIX") or "haven:"),
        node_id=env.get("HAVEN_NODE_ID") or f"node-{secrets.token_hex(4)}",
        call_ring_seconds=_int(env, "HAVEN_CALL_RING_SECONDS", 45, 1, 600),
        ice_policy=ice_policy,
        mesh_limit=_int(env, "HAVEN_MESH_LIMIT", 4, 0, 50),
        media_workers=_int(env, "HAVEN_MEDIA_WORKERS", os.cpu_count() or 1, 0, 64),
        media_addresses=_media_addresses(env, host),
        media_ports=_port_range(env.get("HAVEN_MEDIA_PORTS")),
        media_public_address=env.get("HAVEN_MEDIA_PUBLIC_ADDRESS") or None,
        forward_video_limit=_int(env, "HAVEN_FORWARD_VIDEO_LIMIT", 0, 0, 100) or None,
        workers=_int(env, "HAVEN_WORKERS", 1, 1, 64),
        help_text=_help_text(env.get("HAVEN_HELP_TEXT")),
    )


def _media_addresses(env: Mapping[str, str], host: str) -> tuple[str, ...]:
    """Where the forwarder gathers: as configured, else the address the node listens on when it is a specific
    one (a node on 127.0.0.1 offers 127.0.0.1), else every interface."""
    configured = _split(env.get("HAVEN_MEDIA_ADDRESSES"))
    if configured:
        for address in configured:
            try:
                ipaddress.ip_address(address)
            except ValueError as exc:
                raise ConfigError(f"HAVEN_MEDIA_ADDRESSES entries are IP addresses, got {address!r}") from exc
        return configured
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - recognising the wildcard, not binding to it
        return ()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return ()
    return (host,)


def _port_range(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    low, _, high = value.partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError as exc:
        raise ConfigError("HAVEN_MEDIA_PORTS is a UDP port range such as 40000-40999") from exc
    if not 1024 <= first <= last <= 65535:
        raise ConfigError("HAVEN_MEDIA_PORTS must lie within 1024-65535, low end first")
    return first, last
