"""Which media topology a group room uses: a mesh while it is small, the forwarder once it grows past the mesh
limit (or always, with a limit of 0). The switch is one way for the session, so a room hovering at the limit
does not flap between the two."""

from __future__ import annotations

from dataclasses import replace

from rooms.events import Event, MediaForwarded
from rooms.model import Room


def settle(room: Room | None, events: list[Event], mesh_limit: int | None) -> tuple[Room | None, list[Event]]:
    """``room`` after a transition, switched to the forwarder when it has outgrown the mesh.

    ``mesh_limit`` None means no forwarder is available: every room stays a mesh.
    """
    if room is None or room.forwarded or mesh_limit is None or not room.members:
        return room, events
    if len(room.members) > mesh_limit:
        return replace(room, forwarded=True), [*events, MediaForwarded()]
    return room, events
