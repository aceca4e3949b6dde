"""When each local connection entered each member room: a stamp that changes with every entry.

Socket.IO's member room (``r:<room id>``) is where a member's connection is while it holds its place; entering and
leaving it travels over pub/sub from whichever node decided, and the sweeper repairs what a lost message left
behind. What this node learned about a connection's place (its session, for chat) is cached against the stamp of
its entry: a removal, an end or a new session takes the connection out of the room or stamps it again, and with it
goes the cache, without asking Redis on every message.
"""

from __future__ import annotations

import itertools
from typing import Any

import socketio

from signaling.shared_packets import LocalPackets

MEMBER_ROOM_PREFIX = "r:"
# The rooms whose entries and departures are tracked: members' and facilitators' rooms.
PLACE_ROOM_PREFIXES = ("r:", "f:")
# Events that tell a connection its place ended: what was learned of that place is dropped the moment one goes out
# to it, before its departure from the Socket.IO room arrives (or if that message is lost).
PLACE_ENDING_EVENTS = frozenset({"room:removed", "room:ended", "room:waiting", "room:superseded"})


class EntryStamps:
    """A mixin for python-socketio's client managers: stamps entries into member rooms, and remembers when each
    connection last entered or left a member or facilitator room (so a repair working from an older read of the
    rooms can leave alone what changed since)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stamps: dict[tuple[str, str], int] = {}
        self._touched: dict[tuple[str, str], int] = {}
        self._counter = itertools.count(1)
        self._last = 0

    def _next(self) -> int:
        self._last = next(self._counter)
        return self._last

    def basic_enter_room(self, sid: str, namespace: str, room: Any, eio_sid: str | None = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]
        if isinstance(room, str) and room.startswith(PLACE_ROOM_PREFIXES):
            stamp = self._touched[(sid, room)] = self._next()
            if room.startswith(MEMBER_ROOM_PREFIX):
                self._stamps[(sid, room)] = stamp

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        if isinstance(room, str) and room.startswith(PLACE_ROOM_PREFIXES):
            self._stamps.pop((sid, room), None)
            self._touched[(sid, room)] = self._next()

    def _ends_place(self, event: Any) -> bool:
        return event in PLACE_ENDING_EVENTS

    def _place_ended(self, sid: str) -> None:
        for pair in [pair for pair in self._stamps if pair[0] == sid]:
            del self._stamps[pair]

    def entry_stamp(self, sid: str, room: str) -> int | None:
        """The stamp of ``sid``'s current entry into ``room``; None while it is not in it."""
        return self._stamps.get((sid, room))

    def watermark(self) -> int:
        """The stamp of the latest entry or departure so far."""
        return self._last

    def touched_since(self, mark: int) -> set[tuple[str, str]]:
        """(connection, room) pairs entered or left after ``mark``; what is older than it is forgotten."""
        recent = {pair: stamp for pair, stamp in self._touched.items() if stamp > mark}
        self._touched = recent
        return set(recent)


class LocalManager(EntryStamps, LocalPackets, socketio.AsyncManager):  # type: ignore[misc]
    """The single node's client manager."""
