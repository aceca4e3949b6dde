"""One person's device in a one-on-one call through Haven: a Socket.IO client (``tests.support.realtime.Peer``) and,
once the call is answered, an aiortc peer connection (``tests.support.call_media.CallMedia``) configured from the
call's ``media`` (docs/protocol.md 7.6), negotiated with ``rtc:signal`` (7.4).

The caller sends the offer when ``call:accepted`` arrives; the callee answers every offer; either may re-offer
during the call (``renegotiate``). Signaling messages are handled one at a time, in the order they arrived, by one
task per device, so the peer connection's signaling state never sees two steps at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tests.support.call_media import CallMedia
from tests.support.realtime import WAIT, Peer

# Call events this device acts on or times; every other event is recorded by ``Peer`` as usual.
HANDLED = ("call:incoming", "call:accepted", "call:ended", "rtc:signal")
INBOX_LIMIT = 64  # a call exchanges a handful of signals; more than this unread is a bug worth failing on


class CallError(AssertionError):
    """Haven refused a call request, or the media negotiation failed (in a test, a failure)."""


class CallPeer:
    """A device of one person. ``invite``/``accept``/``hangup`` are the call requests; media follows by itself."""

    def __init__(self, name: str = "peer") -> None:
        self.signaling = Peer(name)
        self.name = name
        self.call_id: str | None = None
        self.role: str | None = None  # "caller" or "callee"
        self.remote_peer_id: str | None = None
        self.media_config: dict[str, Any] = {}
        self.media: CallMedia | None = None
        # perf_counter() at the latest arrival of each handled event (an rtc:signal also as "rtc:signal:<type>"),
        # and at the latest sending of each kind of rtc:signal: the benchmark splits a call's set-up time with them.
        self.arrived_at: dict[str, float] = {}
        self.sent_at: dict[str, float] = {}
        self.failures: list[BaseException] = []
        self._inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(INBOX_LIMIT)
        self._negotiated: asyncio.Future[None] | None = None  # set when an answer to our offer has been applied
        # Set once this device knows the other side's peer id and the call's media: the caller's offer can reach
        # the callee before the acknowledgement of its call:accept does.
        self._joined = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        for event in HANDLED:
            self.signaling.client.on(event, handler=self._receiver(event))

    def _receiver(self, event: str) -> Callable[..., Awaitable[None]]:
        async def receive(data: Any = None) -> None:
            self.arrived_at[event] = time.perf_counter()
            if event == "rtc:signal" and isinstance(data, dict):
                self.arrived_at[f"rtc:signal:{data.get('type')}"] = self.arrived_at[event]
            # A handler of its own replaces Peer's catch-all for this event, so record it as Peer would.
            self.signaling.log.append((event, data))
            self.signaling.received[event].put_nowait(data)
            if event in ("call:accepted", "rtc:signal"):
                self._inbox.put_nowait((event, data))

        return receive

    @property
    def peer_id(self) -> str:
        return self.signaling.sid

    async def connect(self, url: str, token: str) -> None:
        await self.signaling.connect(url, token)
        self._worker = asyncio.create_task(self._work(), name=f"call-signaling-{self.name}")

    # -- call requests ---------------------------------------------------------------------------------------

    async def request(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        ack = await self.signaling.call(event, payload)
        if not (isinstance(ack, dict) and ack.get("ok") is True):
            raise CallError(f"{self.name}: {event} refused: {ack!r}")
        return ack

    async def invite(self, user_id: str) -> dict[str, Any]:
        ack = await self.request("call:invite", {"user_id": user_id})
        self.call_id, self.role, self.media_config = ack["call_id"], "caller", ack["media"]
        return ack

    async def incoming(self, within: float = WAIT) -> dict[str, Any]:
        """The next ``call:incoming``, remembered as this device's call."""
        ring = await self.signaling.next("call:incoming", within)
        self.call_id = ring["call_id"]
        return dict(ring)

    async def accept(self, call_id: str | None = None) -> dict[str, Any]:
        ack = await self.request("call:accept", {"call_id": call_id or self.call_id})
        self.call_id, self.role = ack["call_id"], "callee"
        self.remote_peer_id, self.media_config = ack["peer_id"], ack["media"]
        self._joined.set()
        return ack

    async def hangup(self) -> dict[str, Any]:
        return await self.request("call:hangup", {"call_id": self.call_id})

    async def ended(self, within: float = WAIT) -> dict[str, Any]:
        """The next ``call:ended`` of this device's call."""
        async with asyncio.timeout(within):
            while True:
                event = await self.signaling.next("call:ended", within)
                if event.get("call_id") == self.call_id:
                    return dict(event)

    # -- media -----------------------------------------------------------------------------------------------

    def _new_media(self) -> CallMedia:
        if self.media is None:
            config = self.media_config
            self.media = CallMedia(config.get("ice_servers") or [], config.get("ice_transport_policy") or "all")
        return self.media

    async def renegotiate(self, within: float = WAIT) -> None:
        """Send a new offer on the call's peer connection and wait until the answer has been applied.

        aiortc 1.16 cannot restart ICE (no ``restartIce``, no ``iceRestart`` option, and its ICE credentials are
        fixed per transport), so this is an ordinary re-offer over the same transports."""
        loop = asyncio.get_running_loop()
        self._negotiated = loop.create_future()
        self._inbox.put_nowait(("offer", None))
        async with asyncio.timeout(within):
            await self._negotiated

    async def wait_frames(self, audio: int = 0, video: int = 0, within: float = WAIT, **kwargs: Any) -> dict[str, int]:
        """Frames decoded from the other side (see ``CallMedia.wait_frames``); a negotiation failure raises."""
        deadline = time.monotonic() + within
        async with asyncio.timeout(within):
            while self.media is None:
                self._raise_failure()
                await asyncio.sleep(0.02)
        try:
            return await self.media.wait_frames(audio, video, max(0.1, deadline - time.monotonic()), **kwargs)
        finally:
            self._raise_failure()

    def _raise_failure(self) -> None:
        if self.failures:
            raise CallError(f"{self.name}: call signaling failed: {self.failures[0]!r}") from self.failures[0]

    async def _send_offer(self) -> None:
        media = self._new_media()
        sdp = await media.offer()
        await self.signal("offer", sdp)

    async def signal(self, kind: str, sdp: str) -> None:
        self.sent_at[kind] = time.perf_counter()
        await self.request("rtc:signal", {"to": self.remote_peer_id, "type": kind, "sdp": sdp})

    async def _work(self) -> None:
        while True:
            event, data = await self._inbox.get()
            try:
                await self._handle(event, data)
            except Exception as exc:  # recorded, and raised where the test waits
                self.failures.append(exc)
                if self._negotiated is not None and not self._negotiated.done():
                    self._negotiated.set_exception(exc)

    async def _handle(self, event: str, data: Any) -> None:
        if event == "offer":
            await self._send_offer()
        elif event == "call:accepted":
            # Every device of both people hears of it; only the calling device starts the media.
            if data.get("call_id") == self.call_id and self.role == "caller":
                self.remote_peer_id = data["peer_id"]
                self._joined.set()
                await self._send_offer()
        elif event == "rtc:signal":
            async with asyncio.timeout(WAIT):
                await self._joined.wait()
            if data.get("from") != self.remote_peer_id:
                return
            kind = data.get("type")
            if kind == "offer":
                await self.signal("answer", await self._new_media().answer(data["sdp"]))
            elif kind == "answer":
                assert self.media is not None, "an answer before any offer"
                await self.media.accept_answer(data["sdp"])
                if self._negotiated is not None and not self._negotiated.done():
                    self._negotiated.set_result(None)
            elif kind == "candidate" and self.media is not None:
                await self.media.add_candidate(data.get("candidate"))

    # -- closing ---------------------------------------------------------------------------------------------

    async def close_media(self) -> None:
        if self.media is not None:
            await self.media.close()

    async def leave_call(self) -> None:
        """Close this call's media and forget the call, keeping the connection for the next one."""
        await self.close_media()
        self.media, self.call_id, self.role, self.remote_peer_id = None, None, None, None
        self.media_config, self._negotiated = {}, None
        self.failures.clear()
        self._joined.clear()

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        with contextlib.suppress(Exception):
            async with asyncio.timeout(10):
                await self.close_media()
        await self.signaling.close()
