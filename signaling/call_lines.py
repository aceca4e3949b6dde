"""Each person's line: the one call they are in, ringing or answered, so that a second call finds them busy.

A line is a live document ``{"call_id", "since"}`` in its own store, taken by compare-and-set, so two calls racing
for one person cannot both win. While a call is being placed its document does not exist yet, so a line naming a
missing call is held for ``PLACING_SECONDS`` after it was taken. A line naming a call that has ended, or missing for
longer, counts as free: a node that died between taking a line and releasing it leaves nothing that blocks for long.
"""

from __future__ import annotations

from rooms.calls import Call, from_document
from signaling.room_store import Document, RoomStore

CLAIM_ATTEMPTS = 3
# Longer than placing a call takes (a few store writes and one database insert), even on a loaded node.
PLACING_SECONDS = 10.0


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

    async def _holds(self, line: Document | None, now: float) -> bool:
        if line is None:
            return False
        held = await self.call(str(line["call_id"]))
        if held is None:
            return now < float(line.get("since", 0.0)) + PLACING_SECONDS
        return held.live

    async def busy(self, user_id: str, now: float) -> bool:
        """Whether a call holds this person's line (live, or being placed), without taking it."""
        return await self._holds(await self.lines.read(user_id), now)

    async def claim(self, user_id: str, call_id: str, now: float) -> bool:
        """Put ``call_id`` on the line unless another call holds it (live, or being placed); False when busy.

        A caller takes both lines in the order of the people's ids, so two people calling each other at the
        same moment do not each take their own line and find the other's busy: the first to take the lower
        line wins, the other finds that person busy.
        """
        for _ in range(CLAIM_ATTEMPTS):
            line = await self.lines.read(user_id)
            seen = None if line is None else str(line["call_id"])
            if seen == call_id:
                return True
            if await self._holds(line, now):
                return False

            def take(current: Document | None, seen: str | None = seen) -> tuple[Document | None, bool]:
                if (None if current is None else str(current["call_id"])) != seen:
                    return current, False  # taken or freed meanwhile: look again
                return {"call_id": call_id, "since": now}, True

            if await self.lines.update(user_id, take):
                return True
        return False

    async def release(self, user_id: str, call_id: str) -> None:
        def free(current: Document | None) -> tuple[Document | None, None]:
            if current is not None and str(current["call_id"]) == call_id:
                return None, None
            return current, None

        await self.lines.update(user_id, free)
