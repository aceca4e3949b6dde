"""One-on-one calls between a mentor and a mentee: the call's state, and the events its transitions cause.

Identity is the person (``user_id``); ``peer_id`` is the connection taking part for them, which changes when they
come back on another connection. The callee has no peer until they answer, since every device of theirs rings.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class CallState(StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


class EndReason(StrEnum):
    HANGUP = "hangup"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    MISSED = "missed"
    BUSY = "busy"
    CONNECTION_LOST = "connection_lost"


class CallRole(StrEnum):
    CALLER = "caller"
    CALLEE = "callee"


@dataclass(frozen=True, slots=True)
class Side:
    """One person of a call and the connection taking part for them."""

    user_id: str
    display_name: str
    peer_id: str | None = None
    # When this side's connection was lost in an answered call; None while connected.
    away_since: float | None = None


@dataclass(frozen=True, slots=True)
class Call:
    call_id: str
    pairing_id: str
    caller: Side
    callee: Side
    state: CallState
    invited_at: float
    answered_at: float | None = None
    ended_at: float | None = None
    reason: EndReason | None = None

    @property
    def live(self) -> bool:
        return self.state is not CallState.ENDED

    def role_of(self, user_id: str) -> CallRole | None:
        if user_id == self.caller.user_id:
            return CallRole.CALLER
        if user_id == self.callee.user_id:
            return CallRole.CALLEE
        return None

    def side(self, role: CallRole) -> Side:
        return self.caller if role is CallRole.CALLER else self.callee

    def other(self, role: CallRole) -> Side:
        return self.callee if role is CallRole.CALLER else self.caller

    def people(self) -> tuple[str, str]:
        return self.caller.user_id, self.callee.user_id


# -- events ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ringing:
    call: Call


@dataclass(frozen=True, slots=True)
class Answered:
    call: Call


@dataclass(frozen=True, slots=True)
class Declined:
    call: Call


@dataclass(frozen=True, slots=True)
class Ended:
    """The call is over, for ``call.reason``; every call ends exactly once."""

    call: Call
    # Who ended it (hangup, decline, cancel); None when time or a lost connection did.
    by: str | None


@dataclass(frozen=True, slots=True)
class SideAway:
    call: Call
    user_id: str


@dataclass(frozen=True, slots=True)
class SideBack:
    call: Call
    user_id: str
    previous_peer_id: str | None


CallEvent = Ringing | Answered | Declined | Ended | SideAway | SideBack


# -- the stored form -----------------------------------------------------------------------------------------------

FORMAT = 1


def _side(side: Side) -> dict[str, Any]:
    return {
        "user_id": side.user_id,
        "display_name": side.display_name,
        "peer_id": side.peer_id,
        "away_since": side.away_since,
    }


def to_document(call: Call) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "call_id": call.call_id,
        "pairing_id": call.pairing_id,
        "caller": _side(call.caller),
        "callee": _side(call.callee),
        "state": call.state.value,
        "invited_at": call.invited_at,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "reason": None if call.reason is None else call.reason.value,
    }


def from_document(document: dict[str, Any]) -> Call:
    if document.get("format") != FORMAT:
        raise ValueError(f"unknown call document format {document.get('format')!r}")
    reason = document["reason"]
    return Call(
        call_id=document["call_id"],
        pairing_id=document["pairing_id"],
        caller=Side(**document["caller"]),
        callee=Side(**document["callee"]),
        state=CallState(document["state"]),
        invited_at=document["invited_at"],
        answered_at=document["answered_at"],
        ended_at=document["ended_at"],
        reason=None if reason is None else EndReason(reason),
    )
