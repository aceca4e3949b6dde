"""A store that can give back what Redis lost: every document worth keeping that this node reads or writes is
remembered, and after an outage the ones Redis no longer has (it restarted empty) are written back.

Unlike ``FallbackRoomStore`` nothing is done on the copies while Redis is away: acts wait for it. Used for calls,
whose media goes on peer to peer through an outage: afterwards their timers (ringing, a side's grace) must still
run, which needs their documents.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from signaling.room_store import Document, RoomStore

log = logging.getLogger("haven.calls")
R = TypeVar("R")
MAX_COPIES = 10_000


class RestoringStore:
    def __init__(self, primary: RoomStore, keep: Callable[[Document], bool]) -> None:
        """``keep`` tells a document worth restoring (a live call) from one that may be lost (an ended one)."""
        self.primary = primary
        self.keep = keep
        self.copies: dict[str, Document] = {}

    def _remember(self, key: str, document: Document | None) -> None:
        if document is None or not self.keep(document):
            self.copies.pop(key, None)
        elif key in self.copies or len(self.copies) < MAX_COPIES:
            self.copies[key] = document

    async def read(self, key: str) -> Document | None:
        document = await self.primary.read(key)
        self._remember(key, document)
        return document

    async def read_many(self, keys: list[str]) -> dict[str, Document | None]:
        documents = await self.primary.read_many(keys)
        for key, document in documents.items():
            self._remember(key, document)
        return documents

    async def update(self, key: str, change: Callable[[Document | None], tuple[Document | None, R]]) -> R:
        written: list[Document | None] = []

        def remembering(document: Document | None) -> tuple[Document | None, R]:
            new, result = change(document)
            written[:] = [new]
            return new, result

        result = await self.primary.update(key, remembering)
        if written:
            self._remember(key, written[0])
        return result

    async def room_ids(self) -> list[str]:
        return await self.primary.room_ids()

    async def restore(self) -> list[str]:
        """Write back every remembered document the primary no longer has; returns their keys. A document the
        primary has (changed meanwhile, or written back by another node) stands."""
        restored: list[str] = []
        for key, copy in list(self.copies.items()):

            def back(stored: Document | None, copy: Document = copy) -> tuple[Document | None, bool]:
                return (stored, False) if stored is not None else (copy, True)

            if await self.primary.update(key, back):
                restored.append(key)
        if restored:
            log.info("live documents written back after the store lost them", extra={"count": len(restored)})
        return restored
