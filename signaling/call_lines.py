"""Each person's line: the one call they are in, ringing or answered, so that a second call finds them busy.

A line is a live document ``{"call_id"}`` in its own store, taken by compare-and-set, so two calls racing for one
person cannot both win. A line naming a call that has ended (or whose document is gone) counts as free: a node
that died between ending a call and releasing its lines leaves nothing that blocks the next call.
"""

from __future__ import annotations

from rooms.calls import Call, from_document
from signaling.room_store import Document, RoomStore

CLAIM_ATTEMPTS = 3


class Lines:
    def __init__(self, lines: RoomStore, calls: RoomStore) -> None:
        self.lines = lines
        self.calls = calls

    async def call(self, call_id: str) -> Call | None:
        document = await self.calls.read(call_id)
        return None if document is None else from_document(document)

    async def holder(self, user_id: str) -> Call | None:
        """The live call on this person's line, if any."""
        line = await self.lines.read(user_id)
        if line is None:
            return None
        call = await self.call(str(line["call_id"]))
        return call if call is not None and call.live else None

    async def claim(self, user_id: str, call_id: str) -> bool:
        """Put ``call_id`` on the line unless another live call holds it; False when the person is busy."""
        for _ in range(CLAIM_ATTEMPTS):
            line = await self.lines.read(user_id)
            seen = None if line is None else str(line["call_id"])
            if seen == call_id:
                return True
            if seen is not None:
                held = await self.call(seen)
                if held is not None and held.live:
                    return False

            def take(current: Document | None, seen: str | None = seen) -> tuple[Document | None, bool]:
                if (None if current is None else str(current["call_id"])) != seen:
                    return current, False  # taken or freed meanwhile: look again
                return {"call_id": call_id}, True

            if await self.lines.update(user_id, take):
                return True
        return False

    async def release(self, user_id: str, call_id: str) -> None:
        def free(current: Document | None) -> tuple[Document | None, None]:
            if current is not None and str(current["call_id"]) == call_id:
                return None, None
            return current, None

        await self.lines.update(user_id, free)
