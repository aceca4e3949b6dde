"""Bringing a room's stored state and one node's own view back together after the store was unreachable.

Each node is the authority on its own live connections: what it holds for them replaces what the store says
about them (a member who left through this node during the outage is gone; one who stayed is as this node
saw them last). Everything about other nodes' connections stands as stored. A removal made anywhere wins.
Members whose connection is gone everywhere are found afterwards from presence and treated as dropped; members
already dropped keep their place for the rest of their grace period even if the store lost the room.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import replace

from rooms.model import Member, Role, Room


def reconcile(stored: Room | None, local: Room, local_peers: Set[str]) -> Room | None:
    """The room to store, from ``stored`` (None if the store lost it) and this node's ``local`` copy."""
    # A store that lost the room (Redis restarted empty) leaves only this node's copy. Members in their grace
    # period are held by no connection anywhere, so no node would write them back: the copy keeps their place,
    # and their grace runs on from when they dropped.
    base = stored if stored is not None else replace(local, members=_dropped(local), lobby=(), hands=())
    barred = base.barred | local.barred
    mine_members = {m.user_id: m for m in local.members if m.peer_id in local_peers}
    mine_waiting = {w.user_id: w for w in local.lobby if w.peer_id in local_peers}

    members = [m for m in base.members if m.peer_id not in local_peers and m.user_id not in mine_members]
    members += [m for m in mine_members.values() if not (m.user_id in barred and m.role is Role.PARTICIPANT)]
    members = [m for m in members if not (m.user_id in barred and m.role is Role.PARTICIPANT)]
    seated = {m.user_id for m in members}
    lobby = [w for w in base.lobby if w.peer_id not in local_peers and w.user_id not in mine_waiting]
    lobby += list(mine_waiting.values())
    lobby = [w for w in lobby if w.user_id not in seated]

    room = replace(
        base,
        members=tuple(members),
        lobby=tuple(lobby),
        hands=tuple(dict.fromkeys(h for h in (*base.hands, *local.hands) if h in seated)),
        barred=barred,
        locked=base.locked or local.locked,
    )
    if room.members and room.session_id is None:
        room = replace(room, session_id=local.session_id, opened_at=local.opened_at)
    return None if room.is_empty else room


def _dropped(room: Room) -> tuple[Member, ...]:
    return tuple(m for m in room.members if not m.connected)
