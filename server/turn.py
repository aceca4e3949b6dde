"""ICE servers for clients: the configured STUN list, and TURN with coturn's time-limited REST credentials.

coturn's ``use-auth-secret`` scheme: the username is ``<expiry unix time>:<opaque id>`` and the password is
base64(HMAC-SHA1(secret, username)). The opaque id is random per issue, so coturn's logs name nobody.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any

from server.config import Settings


def turn_credentials(secret: str, ttl_seconds: int, now: float) -> tuple[str, str]:
    username = f"{int(now) + ttl_seconds}:{secrets.token_urlsafe(9)}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


class ConfiguredIceServers:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock

    @property
    def transport_policy(self) -> str:
        """``HAVEN_ICE_POLICY``: ``all``, or ``relay`` (checked at start to come with TURN)."""
        return self.settings.ice_policy

    def __call__(self, user_id: str) -> list[dict[str, Any]]:
        servers: list[dict[str, Any]] = []
        if self.settings.stun_urls:
            servers.append({"urls": list(self.settings.stun_urls)})
        if self.settings.turn_urls and self.settings.turn_secret:
            username, credential = turn_credentials(
                self.settings.turn_secret, self.settings.turn_ttl_seconds, self.clock()
            )
            servers.append({"urls": list(self.settings.turn_urls), "username": username, "credential": credential})
        return servers
