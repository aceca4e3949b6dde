"""Room state that keeps working on this node while Redis is down.

Every document this node reads or writes is remembered. While the primary store does not answer, changes
apply to the remembered copy (this node's clients go on; other nodes do the same with theirs). When Redis
answers again, ``recover`` writes each copy back through a merge, so every node converges on one state.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import TypeVar

from signaling.room_store import Document, RoomStore, StoreUnavailable

log = logging.getLogger("haven.rooms")
R = TypeVar("R")
Merge = Callable[[str, Document | None, Document], Document | None]
MAX_COPIES = 10_000


class FallbackRoomStore:
    def __init__(self, primary: RoomStore) -> None:
        self.primary = primary
        self.copies: dict[str, Document] = {}
        self.down = False
        # Rooms changed on this node's copy while the primary was down: they must be written back.
        self.changed: set[str] = set()

    def _remember(self, room_id: str, document: Document | None) -> None:
        # Kept as given, not copied: this is on the path of every read (every chat message checks the room),
        # the primary decodes a fresh document for each call, and documents handed out are only read. Copies
        # are made where a document is handed to a change or read back while the primary is down.
        if document is None:
            self.copies.pop(room_id, None)
        elif room_id in self.copies or len(self.copies) < MAX_COPIES:
            self.copies[room_id] = document

    def went_down(self) -> None:
        """Redis was found away elsewhere (presence, the sweeper): work on the copies until ``recover`` has
        written them back, so a client coming back meanwhile finds its place rather than an emptied store."""
        self._went_down()

    def _went_down(self) -> None:
        if not self.down:
            log.warning("room state store unreachable: rooms continue on this node's copies")
        self.down = True

    async def read(self, room_id: str) -> Document | None:
        if not self.down:
            try:
                document = await self.primary.read(room_id)
                self._remember(room_id, document)
                return document
            except StoreUnavailable:
                self._went_down()
        return copy.deepcopy(self.copies.get(room_id))

    async def read_many(self, room_ids: list[str]) -> dict[str, Document | None]:
        if not self.down:
            try:
                documents = await self.primary.read_many(room_ids)
                for room_id, document in documents.items():
                    self._remember(room_id, document)
                return documents
            except StoreUnavailable:
                self._went_down()
        return {room_id: copy.deepcopy(self.copies.get(room_id)) for room_id in room_ids}

    async def update(self, room_id: str, change: Callable[[Document | None], tuple[Document | None, R]]) -> R:
        if not self.down:
            last: list[Document | None] = []

            def remembering(document: Document | None) -> tuple[Document | None, R]:
                new, result = change(document)
                last[:] = [new]
                return new, result

            try:
                result = await self.primary.update(room_id, remembering)
                if last:
                    self._remember(room_id, last[0])
                return result
            except StoreUnavailable:
                self._went_down()
        current = copy.deepcopy(self.copies.get(room_id))
        new, result = change(current)
        if new is not current:
            self._remember(room_id, new)
            self.changed.add(room_id)
        return result

    async def room_ids(self) -> list[str]:
        if not self.down:
            try:
                room_ids = await self.primary.room_ids()
            except StoreUnavailable:
                self._went_down()
            else:
                # Rooms that ended elsewhere: their copies must not come back after a later outage.
                for gone in self.copies.keys() - set(room_ids):
                    del self.copies[gone]
                return room_ids
        return list(self.copies)

    async def recover(self, merge: Merge, holds_local: Callable[[Document], bool]) -> list[str]:
        """Write back, through ``merge``, every room changed here while the primary was down or holding one of
        this node's connections (Redis may have restarted empty). Raises StoreUnavailable if it is still away.
        Changes made meanwhile go to the copies and are written in a further pass, until none is pending."""
        pending = self.changed | {room_id for room_id, document in self.copies.items() if holds_local(document)}
        written: list[str] = []
        while pending:
            self.changed = set()
            for room_id in sorted(pending):
                local = self.copies.get(room_id)
                if local is None:
                    continue

                def merged(
                    stored: Document | None, room_id: str = room_id, local: Document = local
                ) -> tuple[Document | None, Document | None]:
                    result = merge(room_id, stored, local)
                    return result, result

                self._remember(room_id, await self.primary.update(room_id, merged))
                written.append(room_id)
            pending = set(self.changed)
        # No await since the last check: nothing can slip in between.
        self.down = False
        log.info("room state store reachable again", extra={"rooms": len(written)})
        return written
