"""Bringing a room's stored state and one node's own view back together after the store was unreachable.

Each node is the authority on its own live connections: a member or waiting person held by one of them is
put into the stored room as this node saw them last. Everything else in the stored room stands; members
whose connection is gone everywhere are found afterwards from presence and treated as dropped.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import replace

from rooms.model import Room


def reconcile(stored: Room | None, local: Room, local_peers: Set[str]) -> Room:
    """The room to store: ``stored`` (None if the store lost it) corrected by this node's ``local`` view."""
    if stored is None:
        return local
    room = stored
    for member in local.members:
        if member.peer_id in local_peers:
            room = room.without_waiting(member.user_id).with_member(member)
    for waiting in local.lobby:
        if (
            waiting.peer_id in local_peers
            and room.member(waiting.user_id) is None
            and room.waiting(waiting.user_id) is None
        ):
            room = replace(room, lobby=(*room.lobby, waiting))
    if room.members and room.session_id is None:
        room = replace(room, session_id=local.session_id, opened_at=local.opened_at)
    hands = tuple(dict.fromkeys(h for h in (*room.hands, *local.hands) if room.member(h) is not None))
    return replace(room, hands=hands, barred=room.barred | local.barred, locked=room.locked or local.locked)
