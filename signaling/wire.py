"""Validated payloads of client events: strict types, bounded lengths, no unknown fields."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from rooms.model import MediaKind

# Socket.IO frames above this are refused by the transport itself (the WebSocket is closed).
MAX_FRAME_BYTES = 64 * 1024
MAX_SDP_CHARS = 48 * 1024

PeerId = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RoomRef(Payload):
    room_id: uuid.UUID


class Target(RoomRef):
    user_id: uuid.UUID


class MuteBody(Target):
    kind: MediaKind


class LockBody(RoomRef):
    locked: bool


class LobbyBody(RoomRef):
    enabled: bool


class MediaBody(RoomRef):
    kind: MediaKind
    enabled: bool


class ScreenBody(RoomRef):
    sharing: bool


class LowerHand(RoomRef):
    user_id: uuid.UUID | None = None


class IceCandidate(Payload):
    """The browser's ``RTCIceCandidateInit``."""

    candidate: Annotated[str, Field(max_length=1024)]
    sdpMid: Annotated[str, Field(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=64)] | None = None
    usernameFragment: Annotated[str, Field(max_length=256)] | None = None


class RtcSignal(Payload):
    to: PeerId
    type: Literal["offer", "answer", "candidate"]
    sdp: Annotated[str, Field(min_length=1, max_length=MAX_SDP_CHARS)] | None = None
    candidate: IceCandidate | None = None

    @model_validator(mode="after")
    def _matching_fields(self) -> RtcSignal:
        if self.type == "candidate":
            if self.sdp is not None:
                raise ValueError("a candidate carries 'candidate', not 'sdp'")
        elif self.sdp is None or self.candidate is not None:
            raise ValueError(f"an {self.type} carries 'sdp' only")
        return self


def relayed(sender: str, signal: RtcSignal) -> dict[str, Any]:
    """The ``rtc:signal`` the addressed peer receives: who sent it, and the offer, answer or candidate."""
    message: dict[str, Any] = {"from": sender, "type": signal.type}
    if signal.type == "candidate":
        message["candidate"] = None if signal.candidate is None else signal.candidate.model_dump(exclude_none=True)
    else:
        message["sdp"] = signal.sdp
    return message


class SessionRefresh(Payload):
    token: Annotated[str, Field(min_length=1, max_length=4096)]


class NoFields(Payload):
    """An event that takes nothing (an empty object)."""


class CallInvite(Payload):
    user_id: uuid.UUID


class CallRef(Payload):
    call_id: uuid.UUID


class WireError(Exception):
    """The payload does not match the event's schema; the message names the field."""


ModelT = TypeVar("ModelT", bound=Payload)


def parse(model: type[ModelT], payload: Any) -> ModelT:
    if not isinstance(payload, dict):
        raise WireError("The payload must be a JSON object.")
    try:
        # JSON mode, so that UUIDs and enums arrive as strings as they do on the wire.
        return model.model_validate_json(json.dumps(payload))
    except RecursionError:
        raise WireError("The payload is nested too deeply.") from None
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "payload"
        raise WireError(f"Invalid field '{field}': {first['msg']}.") from None


# "room:<group id>" or "dm:<user id>" (a direct conversation is named by the other person).
Conversation = Annotated[
    str,
    Field(pattern=r"^(room|dm):[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"),
]
MAX_CHAT_CHARS = 4000


def _chat_body(value: str) -> str:
    if any(ch != "\n" and (ord(ch) < 32 or 127 <= ord(ch) < 160) for ch in value):
        raise ValueError("must not contain control characters other than newlines")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class ChatSend(Payload):
    conversation: Conversation
    body: Annotated[str, Field(min_length=1, max_length=MAX_CHAT_CHARS), AfterValidator(_chat_body)]
    client_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class ChatHistory(Payload):
    conversation: Conversation
    after_seq: Annotated[int, Field(ge=0)] | None = None
    before_seq: Annotated[int, Field(ge=1)] | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50

    @model_validator(mode="after")
    def _one_direction(self) -> ChatHistory:
        if self.after_seq is not None and self.before_seq is not None:
            raise ValueError("give after_seq or before_seq, not both")
        return self


class ChatDelete(Payload):
    conversation: Conversation
    id: uuid.UUID


class ChatTyping(Payload):
    conversation: Conversation


class ChatRead(Payload):
    conversation: Conversation
    seq: Annotated[int, Field(ge=0)]


# Check-ins and support requests: a short note, never required.
MAX_NOTE_CHARS = 500


def _note(value: str) -> str:
    if any(ch not in "\n\t" and (ord(ch) < 32 or 127 <= ord(ch) < 160) for ch in value):
        raise ValueError("must not contain control characters other than newlines")
    return value


Note = Annotated[str, Field(max_length=MAX_NOTE_CHARS), AfterValidator(_note)]


class CheckIn(RoomRef):
    """``lobby:checkin``: how a member is doing, 1 (struggling) to 5; strict, so ``true`` or ``"3"`` is refused."""

    rating: Annotated[int, Field(ge=1, le=5)]
    note: Note | None = None


class SupportRequest(RoomRef):
    note: Note | None = None


class SupportRef(RoomRef):
    id: uuid.UUID
