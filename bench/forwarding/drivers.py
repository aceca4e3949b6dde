"""How a member joins each forwarder: the client side of its signalling, run in the load-generator workers.

- ``RelayDriver``: a WebSocket to ``bench/reference/relay_server.py``; ``ForwarderLink`` (offer once, answer every
  re-offer).
- ``JanusDriver``: Janus's HTTP API, per member one session (long-polled for events), a publisher handle (``join``
  then ``publish`` with the member's offer) and one subscriber handle for all the others' feeds (``join`` as a
  subscriber with ``streams``, later ``subscribe`` for newcomers announced on the publisher handle; each time Janus
  offers, the member answers with ``start``). Subscriptions are batched, one renegotiation at a time.
- ``HavenDriver``: Socket.IO to ``haven serve``, ``room:join``, then ``ForwarderLink`` over ``rtc:signal`` to the
  forwarder's peer id given in the join ack (``/work/notes/sfu-contract.md``).

A driver is built in a worker from the JSON ``spec`` the coordinator's server object made for the room.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import itertools
import json
import time
from typing import Any

import aiohttp
import socketio

from bench.forwarding.client import SIGNAL_TIMEOUT, ForwarderLink, MediaFailure, Member

JOIN_TIMEOUT = 30.0


class DriverError(RuntimeError):
    pass


class Driver(abc.ABC):
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.http: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self.http is None:
            self.http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
                connector=aiohttp.TCPConnector(limit=0),
            )
        return self.http

    @abc.abstractmethod
    async def join(self, member: Member) -> None:
        """Connect ``member`` and negotiate its publishing; what it receives follows by itself."""

    async def leave(self, member: Member) -> None:
        """Undo ``join`` (signalling only; the member's peer connections are closed by the worker)."""
        return

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
            self.http = None


def make_driver(spec: dict[str, Any]) -> Driver:
    kind = spec["kind"]
    if kind == "relay":
        return RelayDriver(spec)
    if kind == "janus":
        return JanusDriver(spec)
    if kind == "haven":
        return HavenDriver(spec)
    raise DriverError(f"unknown forwarder {kind!r}")


# -- aiortc MediaRelay reference -------------------------------------------------------------------------------


class RelayDriver(Driver):
    async def join(self, member: Member) -> None:
        ws = await self.session().ws_connect(f"{self.spec['base']}/ws?member={member.name}", heartbeat=20)

        async def send(message: dict[str, Any]) -> None:
            await ws.send_json(message)

        link = ForwarderLink(member, send)

        async def read() -> None:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    link.deliver(json.loads(message.data))

        reader = asyncio.create_task(read(), name=f"relay-ws-{member.name}")
        member.context = (ws, link, reader)
        await link.start()

    async def leave(self, member: Member) -> None:
        if member.context is None:
            return
        ws, link, reader = member.context
        reader.cancel()
        await link.close()
        with contextlib.suppress(Exception):
            await ws.close()


# -- Janus VideoRoom -------------------------------------------------------------------------------------------


class JanusSession:
    """One Janus API session over HTTP: requests, and a long poll that hands out asynchronous events."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base
        self.id: int | None = None
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.events: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self.poller: asyncio.Task[None] | None = None
        self._transactions = itertools.count(1)

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "transaction": body.get("transaction") or f"t{next(self._transactions)}"}
        async with self.http.post(self.base + path, json=body) as response:
            answer: dict[str, Any] = await response.json(content_type=None)
        if answer.get("janus") == "error":
            raise DriverError(f"janus {body.get('janus')}: {answer.get('error')}")
        return answer

    async def create(self) -> None:
        answer = await self.post("", {"janus": "create"})
        self.id = int(answer["data"]["id"])
        self.poller = asyncio.create_task(self._poll(), name=f"janus-poll-{self.id}")

    async def attach(self) -> int:
        answer = await self.post(f"/{self.id}", {"janus": "attach", "plugin": "janus.plugin.videoroom"})
        handle = int(answer["data"]["id"])
        self.events[handle] = asyncio.Queue()
        return handle

    async def request(self, handle: int, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request (``create``...): its plugin data."""
        answer = await self.post(f"/{self.id}/{handle}", {"janus": "message", "body": body})
        data: dict[str, Any] = answer.get("plugindata", {}).get("data", {})
        if data.get("error"):
            raise DriverError(f"videoroom {body.get('request')}: {data.get('error')}")
        return data

    async def message(self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None) -> dict[str, Any]:
        """An asynchronous plugin request: wait for its event (``{"plugindata", "jsep"?}``)."""
        transaction = f"t{next(self._transactions)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[transaction] = future
        request: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            request["jsep"] = jsep
        try:
            await self.post(f"/{self.id}/{handle}", request)
            async with asyncio.timeout(SIGNAL_TIMEOUT):
                event = await future
        finally:
            self.pending.pop(transaction, None)
        data = event.get("plugindata", {}).get("data", {})
        if data.get("error"):
            raise DriverError(f"videoroom {body.get('request')}: {data.get('error')}")
        return event

    async def _poll(self) -> None:
        while True:
            try:
                async with self.http.get(f"{self.base}/{self.id}?maxev=20") as response:
                    events = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError):
                await asyncio.sleep(0.2)
                continue
            for event in events if isinstance(events, list) else [events]:
                if not isinstance(event, dict) or event.get("janus") != "event":
                    continue
                future = self.pending.get(str(event.get("transaction")))
                if future is not None and not future.done():
                    future.set_result(event)
                    continue
                queue = self.events.get(int(event.get("sender", 0)))
                if queue is not None:
                    queue.put_nowait(event)

    async def destroy(self) -> None:
        if self.poller is not None:
            self.poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.poller
        if self.id is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await self.post(f"/{self.id}", {"janus": "destroy"})


class JanusMember:
    """A member's Janus state: a session, a publisher handle, and a subscriber handle fed the feeds to add."""

    def __init__(self, member: Member, session: JanusSession, room: int) -> None:
        self.member = member
        self.session = session
        self.room = room
        self.publisher_handle = 0
        self.subscriber_handle = 0
        self.subscriber_pc: Any = None
        self.subscribed: set[int] = set()
        self.wanted: asyncio.Queue[int] = asyncio.Queue()
        self.workers: list[asyncio.Task[None]] = []

    def want(self, feeds: list[dict[str, Any]]) -> None:
        own = int(self.member.name)
        for feed in feeds:
            feed_id = int(feed["id"])
            if feed_id != own and feed_id not in self.subscribed:
                self.wanted.put_nowait(feed_id)

    async def notifications(self) -> None:
        """New publishers announced on the publisher handle become subscriptions."""
        queue = self.session.events[self.publisher_handle]
        while True:
            event = await queue.get()
            data = event.get("plugindata", {}).get("data", {})
            if data.get("publishers"):
                self.want(data["publishers"])

    async def subscriptions(self) -> None:
        """Subscribe to wanted feeds in batches: one Janus offer and one answer per batch, one batch at a time."""
        while True:
            feeds = {await self.wanted.get()}
            while not self.wanted.empty():
                feeds.add(self.wanted.get_nowait())
            feeds -= self.subscribed
            if not feeds:
                continue
            try:
                await self.subscribe(sorted(feeds))
            except Exception as exc:  # recorded; the room then misses these streams and the bench says so
                self.member.errors.append(f"janus subscribe {sorted(feeds)}: {exc!r}")

    async def subscribe(self, feeds: list[int]) -> None:
        streams = [{"feed": feed} for feed in feeds]
        if not self.subscriber_handle:
            self.subscriber_handle = await self.session.attach()
            body = {"request": "join", "ptype": "subscriber", "room": self.room, "streams": streams}
        else:
            body = {"request": "subscribe", "streams": streams}
        event = await self.session.message(self.subscriber_handle, body)
        self.subscribed.update(feeds)
        jsep = event.get("jsep")
        if not jsep or jsep.get("type") != "offer":
            raise DriverError(f"no offer after {body['request']}: {event}")
        data = event.get("plugindata", {}).get("data", {})
        publishers = {
            str(s["mid"]): str(s["feed_id"]) for s in data.get("streams", []) if "feed_id" in s and "mid" in s
        }
        if self.subscriber_pc is None:
            self.subscriber_pc = self.member.new_pc()
        sdp = await self.member.answer(self.subscriber_pc, jsep["sdp"], publishers)
        await self.session.message(
            self.subscriber_handle, {"request": "start"}, {"type": "answer", "sdp": sdp, "trickle": False}
        )


class JanusDriver(Driver):
    async def join(self, member: Member) -> None:
        room = int(self.spec["room"])
        session = JanusSession(self.session(), self.spec["base"])
        await session.create()
        state = JanusMember(member, session, room)
        member.context = state
        state.publisher_handle = await session.attach()
        joined = await session.message(
            state.publisher_handle,
            {"request": "join", "ptype": "publisher", "room": room, "id": int(member.name), "display": member.name},
        )
        pc = member.new_pc()
        member.publish_on(pc)
        offer = await member.offer(pc)
        event = await session.message(
            state.publisher_handle, {"request": "publish"}, {"type": "offer", "sdp": offer, "trickle": False}
        )
        jsep = event.get("jsep")
        if not jsep or jsep.get("type") != "answer":
            raise MediaFailure(f"janus publish: no answer in {event}")
        await member.accept_answer(pc, jsep["sdp"])
        member.joined_at = time.monotonic()
        state.workers = [
            asyncio.create_task(state.notifications(), name=f"janus-notes-{member.name}"),
            asyncio.create_task(state.subscriptions(), name=f"janus-subs-{member.name}"),
        ]
        state.want(joined.get("plugindata", {}).get("data", {}).get("publishers", []))

    async def leave(self, member: Member) -> None:
        state = member.context
        if isinstance(state, JanusMember):
            for worker in state.workers:
                worker.cancel()
            await state.session.destroy()


# -- Haven -----------------------------------------------------------------------------------------------------


class HavenDriver(Driver):
    async def join(self, member: Member) -> None:
        token = self.spec["tokens"][member.name]
        sio = socketio.AsyncClient(reconnection=False)
        state: dict[str, Any] = {"sio": sio, "link": None, "peer_id": None}
        member.context = state

        async def on_signal(data: Any) -> None:
            link = state["link"]
            if isinstance(data, dict) and link is not None and data.get("from") == state["peer_id"]:
                link.deliver(data)

        async def on_media(data: Any) -> None:
            member.errors.append(f"room:media during the run: {data!r}")

        sio.on("rtc:signal", handler=on_signal)
        sio.on("room:media", handler=on_media)
        await sio.connect(self.spec["url"], auth={"token": token}, transports=["websocket"], wait_timeout=10)
        ack = await sio.call("room:join", {"room_id": self.spec["room_id"]}, timeout=10)
        if not (isinstance(ack, dict) and ack.get("ok") and ack.get("status") == "joined"):
            raise DriverError(f"room:join: {ack!r}")
        media = ack.get("media") or {}
        if media.get("mode") != "sfu" or not media.get("peer_id"):
            raise DriverError(f"room:join answered media {media!r}, not the forwarder's")
        if media.get("ice_servers"):
            raise DriverError(f"the forwarder named ICE servers {media['ice_servers']!r}; the bench uses none")
        state["peer_id"] = media["peer_id"]

        async def send(message: dict[str, Any]) -> None:
            reply = await sio.call("rtc:signal", {"to": state["peer_id"], **message}, timeout=10)
            if not (isinstance(reply, dict) and reply.get("ok") is True):
                raise MediaFailure(f"rtc:signal {message.get('type')}: {reply!r}")

        link = ForwarderLink(member, send)
        state["link"] = link
        await link.start()

    async def leave(self, member: Member) -> None:
        state = member.context
        if not isinstance(state, dict):
            return
        if state["link"] is not None:
            await state["link"].close()
        sio = state["sio"]
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                if sio.connected:
                    await sio.call("room:leave", {"room_id": self.spec["room_id"]}, timeout=5)
                    await sio.disconnect()
