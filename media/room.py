"""One group room's media on the forwarder: its members' connections, their streams, and who may be heard.

The room is told who is in it and what each may send (``sync``, from the room state after every change); it
never decides that itself. A member no longer in the room loses its connection and its streams at once, and
every other member's copy of them ends. Muted media is not forwarded, whatever the member's client sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from media import offers
from media.counters import Counters
from media.errors import invalid
from media.link import MemberLink
from media.network import MediaNetwork
from media.speakers import Speakers
from media.streams import Source
from rooms.errors import NotAuthorized
from rooms.model import Member, Role

log = logging.getLogger("haven.media")
SPEAKER_TICK = 0.25
REPORT_TICKS = 4  # a bitrate report to each publisher every fourth tick: once a second
Send = Callable[[str, str, dict[str, Any]], Awaitable[None]]  # (peer id or "room", event, data)


@dataclass(frozen=True, slots=True)
class Seat:
    """What the forwarder knows of a member: who, on which connection, and what they may send now."""

    user_id: str
    peer_id: str
    facilitator: bool
    audio: bool
    video: bool

    @classmethod
    def of(cls, member: Member) -> Seat:
        return cls(member.user_id, member.peer_id, member.role is Role.FACILITATOR, member.audio, member.video)


class ForwardedRoom:
    def __init__(
        self,
        room_id: str,
        *,
        peer_id: str,
        network: MediaNetwork,
        send: Send,
        counters: Counters,
        video_limit: int | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.room_id = room_id
        self.peer_id = peer_id  # the forwarder's peer id in this room
        self.network = network
        self.send = send
        self.counters = counters
        self.video_limit = video_limit
        self.clock = clock
        self.seats: dict[str, Seat] = {}
        self.links: dict[str, MemberLink] = {}
        # Set while anyone is connected: a room nobody has connected to yet costs no ticks.
        self._linked = asyncio.Event()
        self.sources: dict[str, dict[str, Source]] = {}
        self.speakers = Speakers()
        self._speaking: list[str] = []
        self._task = asyncio.create_task(self._tick(), name=f"forwarder-room-{room_id}")

    # -- the room state ----------------------------------------------------------------------------------

    async def sync(self, seats: list[Seat]) -> None:
        """Align with the room: who is in it, on which connection, and what each may send."""
        self.seats = {seat.user_id: seat for seat in seats}
        for user_id, link in list(self.links.items()):
            seat = self.seats.get(user_id)
            if self.links.get(user_id) is not link or (seat is not None and seat.peer_id == link.peer_id):
                continue
            if seat is None:
                await self._drop(user_id)
            else:
                # Back on another connection (after a drop): the old one goes; the member's streams stay, so
                # everyone keeps the same tracks and the new connection's upload carries on in them.
                del self.links[user_id]
                await link.close()
        for user_id in [u for u in self.sources if u not in self.seats]:
            await self._drop(user_id)
        self._apply_policy()

    def _apply_policy(self) -> None:
        shown = self._shown_video()
        for user_id, streams in self.sources.items():
            seat = self.seats.get(user_id)
            for kind, source in streams.items():
                allowed = seat is not None and (seat.audio if kind == "audio" else seat.video and user_id in shown)
                source.set_allowed(allowed)

    def _shown_video(self) -> set[str]:
        """Whose video is forwarded: everyone, or the facilitators and the latest ``video_limit`` speakers."""
        if self.video_limit is None:
            return set(self.seats)
        shown = {u for u, seat in self.seats.items() if seat.facilitator}
        for user_id in self.speakers.recent + list(self.seats):
            if len(shown) >= len([s for s in self.seats.values() if s.facilitator]) + self.video_limit:
                break
            if user_id in self.seats:
                shown.add(user_id)
        return shown

    # -- signals -----------------------------------------------------------------------------------------

    async def signal(self, seat: Seat, payload: dict[str, Any]) -> None:
        """An offer, answer or candidate from a member of the room, addressed to the forwarder."""
        current = self.seats.get(seat.user_id)
        if current is None or current.peer_id != seat.peer_id:
            raise NotAuthorized("You can only signal to peers in your room or call.")
        kind = payload.get("type")
        link = self.links.get(seat.user_id)
        if kind == "offer":
            text = str(payload.get("sdp") or "")
            if link is not None and not link.same_connection(offers.read(text, "offer")):
                # The member opened a new peer connection (after a failure, say): it replaces the old one, and
                # the member's streams go on at everyone else under the same tracks.
                self.links.pop(seat.user_id, None)
                await link.close()
                link = None
            if link is None:
                link = self._link(seat)
            try:
                answer = await link.accept_offer(text)
            except BaseException:
                if link.offer is None:  # nothing was established: start afresh on the next offer
                    self.links.pop(seat.user_id, None)
                    await link.close()
                raise
            await self.send(seat.peer_id, "rtc:signal", {"from": self.peer_id, "type": "answer", "sdp": answer})
        elif link is None:
            raise invalid("Send an offer to the forwarder first.")
        elif kind == "answer":
            link.accept_answer(str(payload.get("sdp") or ""))
        else:
            await link.add_candidate(payload.get("candidate"))

    def _link(self, seat: Seat) -> MemberLink:
        peer_id = seat.peer_id

        async def deliver(signal: dict[str, Any]) -> None:
            await self.send(peer_id, "rtc:signal", {"from": self.peer_id, **signal})

        link = MemberLink(
            user_id=seat.user_id,
            peer_id=peer_id,
            network=self.network,
            deliver=deliver,
            on_upload=self._uploaded,
            counters=self.counters,
        )
        self.links[seat.user_id] = link
        self._linked.set()
        return link

    def _uploaded(self, link: MemberLink) -> None:
        """A member's offer set what it sends: make (or end) its streams, and tell everyone else."""
        assert link.offer is not None
        streams = self.sources.setdefault(link.user_id, {})
        for kind in ("audio", "video"):
            ask = functools.partial(link.ask_keyframe, kind)
            again = functools.partial(link.ask_resend, kind)
            if link.uploads.get(kind) and kind in streams:
                # The same stream, from a new connection of the member.
                streams[kind].request_keyframe, streams[kind].request_resend = ask, again
            elif link.uploads.get(kind):
                streams[kind] = Source(
                    link.user_id, kind, self.counters, request_keyframe=ask, clock=self.clock, request_resend=again
                )
            elif not link.uploads.get(kind) and kind in streams:
                del streams[kind]
        link.sources = {
            link.offer.payload_types[kind]: source
            for kind, source in streams.items()
            if kind in link.offer.payload_types
        }
        self._apply_policy()
        self._plan()

    def _plan(self) -> None:
        for user_id, link in self.links.items():
            link.receive_only(
                [source for other, streams in self.sources.items() if other != user_id for source in streams.values()]
            )

    async def _drop(self, user_id: str) -> None:
        """The member left the room: its connection closes and its streams end at everyone else."""
        link = self.links.pop(user_id, None)
        streams = self.sources.pop(user_id, {})
        self.speakers.forget(user_id)
        self._plan()
        for source in streams.values():
            for sink in list(source.sinks):
                source.detach(sink, ended=True)
        if link is not None:
            await link.close()

    # -- active speakers ---------------------------------------------------------------------------------

    async def _tick(self) -> None:
        """Who is speaking, every tick; how much each publisher may send, every fourth."""
        ticks = 0
        while True:
            if not self.links:
                self._linked.clear()
                await self._linked.wait()
            await asyncio.sleep(SPEAKER_TICK)
            ticks += 1
            if ticks % REPORT_TICKS == 0:
                for link in list(self.links.values()):
                    link.report()
            heard: dict[str, tuple[int, int]] = {}
            for user_id, streams in self.sources.items():
                audio = streams.get("audio")
                if audio is not None:
                    heard[user_id] = (audio.loudness, audio.heard)
                    audio.loudness = audio.heard = 0
            speaking = self.speakers.tick(heard, self.clock())
            if speaking != self._speaking:
                self._speaking = speaking
                if self.video_limit is not None:
                    self._apply_policy()
                try:
                    await self.send("room", "room:speakers", {"room_id": self.room_id, "user_ids": speaking})
                except Exception:
                    log.exception("announcing speakers failed", extra={"room_id": self.room_id})

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        for user_id in list(self.links):
            await self._drop(user_id)
