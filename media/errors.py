"""Why the forwarder refused a member's signal: the domain's typed refusals, so the wire maps them in one place,
and the same refusals as they travel in a reply from a worker or another node."""

from __future__ import annotations

from typing import Any

from rooms.errors import InvalidMedia, NegotiationConflict, NotAuthorized, RoomError, UnsupportedMedia

_BY_CODE: dict[str, type[RoomError]] = {
    "invalid_request": InvalidMedia,
    "unsupported_media": UnsupportedMedia,
    "conflict": NegotiationConflict,
    "not_authorized": NotAuthorized,
}


def invalid(message: str) -> RoomError:
    return InvalidMedia(message)


def unsupported(message: str) -> RoomError:
    return UnsupportedMedia(message)


def conflict(message: str) -> RoomError:
    return NegotiationConflict(message)


def raise_refusal(reply: dict[str, Any]) -> None:
    """Raise the refusal a reply carries (``{"error": {"code", "message"}}``), if it carries one."""
    error = reply.get("error")
    if error:
        raise _BY_CODE.get(str(error.get("code")), NegotiationConflict)(str(error.get("message")))
