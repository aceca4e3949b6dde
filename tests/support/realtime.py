"""Real Socket.IO clients for the tests: the official Python client, with every received event recorded."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import socketio

WAIT = 10.0


class Peer:
    """One client connection. ``call`` sends an event and returns its acknowledgement; ``next`` waits for the
    next received event of a name."""

    def __init__(self, name: str = "peer") -> None:
        self.name = name
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: dict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)
        self.log: list[tuple[str, Any]] = []
        self.connect_error: Any = None

        @self.client.on("*")  # type: ignore[misc]
        async def _any(event: str, data: Any = None) -> None:
            self.log.append((event, data))
            self.received[event].put_nowait(data)

        @self.client.event  # type: ignore[misc]
        async def connect_error(data: Any) -> None:
            self.connect_error = data

    @property
    def sid(self) -> str:
        sid = self.client.get_sid("/")
        assert sid is not None
        return str(sid)

    async def connect(self, url: str, token: str | None, headers: dict[str, str] | None = None) -> None:
        await self.client.connect(
            url,
            auth={"token": token} if token is not None else None,
            transports=["websocket"],
            headers=headers or {},
            wait_timeout=WAIT,
        )

    async def call(self, event: str, payload: Any = None) -> Any:
        return await self.client.call(event, payload, timeout=WAIT)

    async def next(self, event: str, within: float = WAIT) -> Any:
        async with asyncio.timeout(within):
            return await self.received[event].get()

    def drain(self, event: str) -> list[Any]:
        items = []
        queue = self.received[event]
        while not queue.empty():
            items.append(queue.get_nowait())
        return items

    async def close(self) -> None:
        if self.client.connected:
            await self.client.disconnect()
