"""Typed refusals of the domain, each with the stable code clients see and a plain sentence."""

from __future__ import annotations

from typing import ClassVar


class RoomError(Exception):
    """A refused command: the state is unchanged and the session goes on."""

    code: ClassVar[str] = "conflict"

    def __init__(self, message: str, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        # Fields the refusal carries beside its error (e.g. when a closed room opens).
        self.extra = extra


class NotAuthorized(RoomError):
    code = "not_authorized"


class NotInRoom(RoomError):
    code = "not_in_room"


class NotFound(RoomError):
    code = "not_found"


class RoomLocked(RoomError):
    code = "room_locked"


class RoomFull(RoomError):
    code = "room_full"


class RoomNotOpen(RoomError):
    """A participant came before the scheduled session opens, and no facilitator has opened it."""

    code = "room_not_open"


class InvalidMedia(RoomError):
    """A member's SDP or ICE candidate the forwarder cannot read."""

    code = "invalid_request"


class UnsupportedMedia(RoomError):
    """Media the forwarder cannot pass on without decoding it (it forwards VP8 and Opus)."""

    code = "unsupported_media"


class NegotiationConflict(RoomError):
    """An offer or answer that crosses one already under way."""

    code = "conflict"
