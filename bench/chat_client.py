"""Socket.IO clients for the chat benchmark: the official python-socketio ``AsyncClient``, and a minimal raw one.

Both speak Socket.IO 5 over Engine.IO 4 on the WebSocket transport only, the subset Haven and the reference peer
share: ``auth: {token}`` at connect, events with acknowledgements, and server-sent events. They offer the same
small interface (``connect``, ``send`` with an acknowledgement callback, ``call``, ``close``) and hand each
received event to one plain function, so that the load generator can be driven by either and the cost of the
client library itself can be measured (``--client``).

The raw client exists because python-socketio's client (through python-engineio) starts an asyncio task for every
received packet and keeps an ``aiohttp.ClientSession`` per client; with one generator process holding a thousand
clients on the same two cores as the servers, that cost lands on the measurement. The raw client parses text
frames in its single reader task and calls the handler inline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any, Protocol

import aiohttp
import socketio

AckCallback = Callable[[Any], None]
EventHandler = Callable[[str, Any], None]


class ConnectRefused(RuntimeError):
    """The server refused the Socket.IO connect (``connect_error``); ``data`` is its payload."""

    def __init__(self, data: Any) -> None:
        super().__init__(f"connect refused: {data!r}")
        self.data = data


class ChatClient(Protocol):
    closed_reason: str | None

    async def connect(self, base_url: str, token: str, within: float) -> None: ...

    async def send(self, event: str, payload: Any, on_ack: AckCallback) -> None: ...

    async def call(self, event: str, payload: Any, within: float) -> Any: ...

    async def close(self) -> None: ...


def websocket_url(base_url: str) -> str:
    scheme, rest = base_url.rstrip("/").split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/socket.io/?EIO=4&transport=websocket"


class RawClient:
    """One Socket.IO connection over an aiohttp WebSocket, default namespace only, no binary attachments."""

    def __init__(self, session: aiohttp.ClientSession, on_event: EventHandler) -> None:
        self.session = session
        self.on_event = on_event
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.acks: dict[int, AckCallback] = {}
        self.next_id = 0
        self.reader: asyncio.Task[None] | None = None
        self.connected: asyncio.Future[Any] | None = None
        self.closed_reason: str | None = None
        self.bad_packets = 0  # packets that could not be parsed or whose handler failed (kept reading)

    async def connect(self, base_url: str, token: str, within: float) -> None:
        loop = asyncio.get_running_loop()
        self.connected = loop.create_future()
        async with asyncio.timeout(within):
            self.ws = await self.session.ws_connect(websocket_url(base_url), autoping=False, max_msg_size=0)
            first = await self.ws.receive()
            if first.type != aiohttp.WSMsgType.TEXT or not first.data.startswith("0"):
                raise ConnectionError(f"no Engine.IO open packet: {first!r}")
            await self.ws.send_str("40" + json.dumps({"token": token}))
            self.reader = loop.create_task(self._read())
            await self.connected

    async def _read(self) -> None:
        ws = self.ws
        assert ws is not None
        try:
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    self._packet(message.data)
                except (ValueError, IndexError, KeyError, TypeError):
                    self.bad_packets += 1
            self.closed_reason = self.closed_reason or f"closed by the server ({ws.close_code})"
        except Exception as exc:
            self.closed_reason = f"reader failed: {exc!r}"
        finally:
            self._finish(ConnectionError(self.closed_reason or "closed"))

    def _packet(self, data: str) -> None:
        kind = data[:1]
        if kind == "4":  # Socket.IO packet inside an Engine.IO message
            sio = data[1:2]
            if sio == "2":  # EVENT: 42["name", payload]
                parsed = json.loads(data[data.index("[") :])  # an ack id before the "[" is not used here
                self.on_event(parsed[0], parsed[1] if len(parsed) > 1 else None)
            elif sio == "3":  # ACK: 43<id>[payload]
                bracket = data.index("[")
                callback = self.acks.pop(int(data[2:bracket]), None)
                if callback is not None:
                    parsed = json.loads(data[bracket:])
                    callback(parsed[0] if parsed else None)
            elif sio == "0":  # CONNECT accepted
                if self.connected is not None and not self.connected.done():
                    self.connected.set_result(json.loads(data[2:]) if len(data) > 2 else None)
            elif sio == "4":  # CONNECT_ERROR
                if self.connected is not None and not self.connected.done():
                    self.connected.set_exception(ConnectRefused(json.loads(data[2:]) if len(data) > 2 else None))
            elif sio == "1":  # DISCONNECT from the server
                self.closed_reason = "disconnected by the server"
                if self.ws is not None:
                    asyncio.get_running_loop().create_task(self.ws.close())
        elif kind == "2":  # Engine.IO ping from the server: answer pong
            if self.ws is not None and not self.ws.closed:
                asyncio.get_running_loop().create_task(self._pong())
        elif kind == "1":  # Engine.IO close
            self.closed_reason = "Engine.IO close"

    async def _pong(self) -> None:
        with contextlib.suppress(Exception):
            assert self.ws is not None
            await self.ws.send_str("3")

    def _finish(self, error: Exception) -> None:
        if self.connected is not None and not self.connected.done():
            self.connected.set_exception(error)
        self.acks.clear()

    async def send(self, event: str, payload: Any, on_ack: AckCallback) -> None:
        if self.ws is None or self.ws.closed:
            raise ConnectionError(self.closed_reason or "not connected")
        self.next_id += 1
        self.acks[self.next_id] = on_ack
        await self.ws.send_str(f"42{self.next_id}" + json.dumps([event, payload], separators=(",", ":")))

    async def call(self, event: str, payload: Any, within: float) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(answer: Any) -> None:
            if not future.done():
                future.set_result(answer)

        async with asyncio.timeout(within):
            await self.send(event, payload, done)
            return await future

    async def close(self) -> None:
        ws, self.ws = self.ws, None
        self.closed_reason = self.closed_reason or "closed by the client"
        if ws is not None and not ws.closed:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await ws.send_str("41")
                    await ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader


class SioClient:
    """The same interface over python-socketio's ``AsyncClient`` (one ``aiohttp.ClientSession`` each)."""

    def __init__(self, on_event: EventHandler) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.closed_reason: str | None = None
        self.on_event = on_event
        self.refusal: Any = None

        def any_event(event: str, data: Any = None) -> None:
            on_event(event, data)

        def connect_error(data: Any) -> None:
            self.refusal = data

        def disconnect(reason: Any = None) -> None:
            self.closed_reason = self.closed_reason or f"disconnected ({reason})"

        self.sio.on("*", handler=any_event)
        self.sio.on("connect_error", handler=connect_error)
        self.sio.on("disconnect", handler=disconnect)

    async def connect(self, base_url: str, token: str, within: float) -> None:
        try:
            async with asyncio.timeout(within + 1):
                await self.sio.connect(base_url, auth={"token": token}, transports=["websocket"], wait_timeout=within)
        except socketio.exceptions.ConnectionError as exc:
            if self.refusal is not None:
                raise ConnectRefused(self.refusal) from exc
            raise

    async def send(self, event: str, payload: Any, on_ack: AckCallback) -> None:
        if not self.sio.connected:
            raise ConnectionError(self.closed_reason or "not connected")
        await self.sio.emit(event, payload, callback=on_ack)

    async def call(self, event: str, payload: Any, within: float) -> Any:
        return await self.sio.call(event, payload, timeout=within)

    async def close(self) -> None:
        self.closed_reason = self.closed_reason or "closed by the client"
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await self.sio.disconnect()


def make_client(kind: str, session: aiohttp.ClientSession | None, on_event: EventHandler) -> ChatClient:
    if kind == "raw":
        assert session is not None
        return RawClient(session, on_event)
    if kind == "sio":
        return SioClient(on_event)
    raise ValueError(f"unknown client kind {kind!r}")
