"""A room as a JSON document (for the room-state store) and back; the format is versioned by ``format``."""

from __future__ import annotations

from typing import Any

from rooms.model import GroupSettings, Member, Role, Room, Waiting

FORMAT = 1


def _member(member: Member) -> dict[str, Any]:
    return {
        "user_id": member.user_id,
        "display_name": member.display_name,
        "role": member.role.value,
        "peer_id": member.peer_id,
        "joined_at": member.joined_at,
        "admitted_by": member.admitted_by,
        "audio": member.audio,
        "video": member.video,
        "audio_muted_by": member.audio_muted_by,
        "video_muted_by": member.video_muted_by,
        "connected": member.connected,
        "disconnected_at": member.disconnected_at,
        "screen": member.screen,
    }


def _waiting(waiting: Waiting) -> dict[str, Any]:
    return {
        "user_id": waiting.user_id,
        "display_name": waiting.display_name,
        "peer_id": waiting.peer_id,
        "since": waiting.since,
        "removed_before": waiting.removed_before,
        "held": waiting.held,
    }


def to_document(room: Room) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "room_id": room.room_id,
        "settings": {
            "capacity": room.settings.capacity,
            "lobby_enabled": room.settings.lobby_enabled,
            "self_unmute_allowed": room.settings.self_unmute_allowed,
            "screen_share_allowed": room.settings.screen_share_allowed,
        },
        "members": [_member(m) for m in room.members],
        "lobby": [_waiting(w) for w in room.lobby],
        "hands": list(room.hands),
        "locked": room.locked,
        "session_id": room.session_id,
        "opened_at": room.opened_at,
        "barred": sorted(room.barred),
        "forwarded": room.forwarded,
    }


def from_document(document: dict[str, Any]) -> Room:
    if document.get("format") != FORMAT:
        raise ValueError(f"unknown room document format {document.get('format')!r}")
    settings = document["settings"]
    return Room(
        room_id=document["room_id"],
        settings=GroupSettings(
            settings["capacity"],
            settings["lobby_enabled"],
            settings["self_unmute_allowed"],
            bool(settings.get("screen_share_allowed", False)),
        ),
        members=tuple(Member(**{**m, "role": Role(m["role"])}) for m in document["members"]),
        lobby=tuple(Waiting(**w) for w in document["lobby"]),
        hands=tuple(document["hands"]),
        locked=document["locked"],
        session_id=document["session_id"],
        opened_at=document["opened_at"],
        barred=frozenset(document["barred"]),
        forwarded=bool(document.get("forwarded", False)),
    )


def grace_over(document: dict[str, Any], now: float, grace_seconds: float) -> bool:
    """Whether a member of the stored room stayed disconnected for the whole grace period (read from the document
    itself, so that a sweep of many rooms builds none of them)."""
    return any(
        not member["connected"]
        and member["disconnected_at"] is not None
        and now - member["disconnected_at"] >= grace_seconds
        for member in document["members"]
    )


def member_places(document: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Each member's (peer id, role) in the stored room, read from the document itself."""
    return {member["user_id"]: (member["peer_id"], member["role"]) for member in document["members"]}
