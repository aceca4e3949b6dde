"""Why the forwarder refused a member's signal: the domain's typed refusals, so the wire maps them in one place."""

from __future__ import annotations

from rooms.errors import InvalidMedia, NegotiationConflict, RoomError, UnsupportedMedia

ForwardingRefused = RoomError


def invalid(message: str) -> RoomError:
    return InvalidMedia(message)


def unsupported(message: str) -> RoomError:
    return UnsupportedMedia(message)


def conflict(message: str) -> RoomError:
    return NegotiationConflict(message)
