"""Acknowledgements as the protocol shapes them, and the mapping of every refusal to its code."""

from __future__ import annotations

from typing import Any

from rooms.errors import RoomError

Ack = dict[str, Any]


class SignalingError(Exception):
    """A refusal decided by the signaling layer (not the room domain), with its wire code."""

    def __init__(self, code: str, message: str, **extra: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # Fields the refusal carries beside its error, e.g. the agreement to accept.
        self.extra = extra


def ok(**result: Any) -> Ack:
    return {"ok": True, **result}


def fail(code: str, message: str) -> Ack:
    return {"ok": False, "error": {"code": code, "message": message}}


def refusal(exc: RoomError | SignalingError) -> Ack:
    return {**fail(exc.code, exc.message), **exc.extra}


def not_authorized(message: str = "You are not allowed to do that.") -> SignalingError:
    return SignalingError("not_authorized", message)
