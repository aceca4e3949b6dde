"""ICE servers handed to clients: the configured STUN list, TURN with coturn's time-limited credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

from server.config import load_settings
from server.turn import ConfiguredIceServers, turn_credentials

SECRET = "turn-secret-" + "t" * 40


def test_credentials_follow_coturns_rest_scheme() -> None:
    username, credential = turn_credentials(SECRET, 600, now=1_000_000.0)
    expiry, opaque = username.split(":")
    assert int(expiry) == 1_000_600
    assert opaque  # random, so coturn's logs name nobody
    expected = base64.b64encode(hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()).decode()
    assert credential == expected
    assert turn_credentials(SECRET, 600, now=1_000_000.0)[0] != username


def test_no_servers_unless_configured(tmp_path: Path) -> None:
    settings = load_settings({"HAVEN_DATA_DIR": str(tmp_path)})
    assert ConfiguredIceServers(settings)("user") == []


def test_configured_stun_and_turn(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "HAVEN_DATA_DIR": str(tmp_path),
            "HAVEN_STUN_URLS": "stun:turn.example.org:3478",
            "HAVEN_TURN_URLS": "turn:turn.example.org:3478?transport=udp,turn:turn.example.org:3478?transport=tcp",
            "HAVEN_TURN_SECRET": SECRET,
            "HAVEN_TURN_TTL_SECONDS": "300",
        }
    )
    stun, turn = ConfiguredIceServers(settings, clock=lambda: 2_000_000.0)("user")
    assert stun == {"urls": ["stun:turn.example.org:3478"]}
    assert turn["urls"] == ["turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=tcp"]
    assert turn["username"].startswith("2000300:")
