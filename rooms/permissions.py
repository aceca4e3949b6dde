"""Who may do what in a group room: every check in one place.

Authorization comes first: a non-facilitator asking to moderate is refused before anything about the target
is looked at, so the refusal says nothing about who is in the room.
"""

from __future__ import annotations

from rooms.errors import NotAuthorized, NotFound, NotInRoom
from rooms.model import Member, Person, Role, Room


def require_facilitator(room: Room, actor: Person) -> Member:
    """The acting facilitator's place in the room."""
    if actor.role is not Role.FACILITATOR:
        raise NotAuthorized("Only a facilitator can do that.")
    member = room.member(actor.user_id)
    if member is None:
        raise NotInRoom("Join the room first.")
    return member


def require_member(room: Room, user_id: str) -> Member:
    member = room.member(user_id)
    if member is None:
        raise NotInRoom("You are not in this room.")
    return member


def target_member(room: Room, user_id: str) -> Member:
    member = room.member(user_id)
    if member is None:
        raise NotFound("That person is not in the room.")
    return member


def require_removable(target: Member) -> None:
    if target.role is Role.FACILITATOR:
        raise NotAuthorized("A facilitator cannot be removed or sent to the lobby.")
