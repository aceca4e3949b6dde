"""How room state looks on the wire: participants, the lobby, the entry payload."""

from __future__ import annotations

from typing import Any

from rooms.model import GroupSettings, Member, Role, Room, Waiting

MESH_LIMIT = 4  # the default of HAVEN_MESH_LIMIT


def participant(member: Member, hands: tuple[str, ...]) -> dict[str, Any]:
    return {
        "user_id": member.user_id,
        "display_name": member.display_name,
        "role": member.role.value,
        "audio": member.audio,
        "video": member.video,
        "hand": member.user_id in hands,
        "peer_id": member.peer_id,
        "connected": member.connected,
        "screen": member.screen,
        # True while a facilitator's mute stands and the member may not lift it themselves.
        "muted": {
            "audio": member.audio_muted_by is not None,
            "video": member.video_muted_by is not None,
        },
    }


def settings(values: GroupSettings) -> dict[str, Any]:
    return {
        "lobby_enabled": values.lobby_enabled,
        "capacity": values.capacity,
        "self_unmute_allowed": values.self_unmute_allowed,
        "screen_share_allowed": values.screen_share_allowed,
    }


def waiting(entry: Waiting) -> dict[str, Any]:
    return {
        "user_id": entry.user_id,
        "display_name": entry.display_name,
        "since": entry.since,
        "removed_before": entry.removed_before,
        "sent_back": entry.held,
    }


def room_view(room: Room, for_role: Role) -> dict[str, Any]:
    view: dict[str, Any] = {
        "room_id": room.room_id,
        "participants": [participant(m, room.hands) for m in room.members],
        "locked": room.locked,
        "lobby_enabled": room.settings.lobby_enabled,
        "screen_share_allowed": room.settings.screen_share_allowed,
        "hands": list(room.hands),
        "session_id": room.session_id,
    }
    if for_role is Role.FACILITATOR:
        view["lobby"] = [waiting(w) for w in room.lobby]
    return view


def media_view(
    ice_servers: list[dict[str, Any]], ice_policy: str, mesh_limit: int, forwarder: str | None
) -> dict[str, Any]:
    """How a member connects its media: to every other member (``mesh``), or once, to the forwarder (``sfu``)."""
    media: dict[str, Any] = {
        "mode": "mesh" if forwarder is None else "sfu",
        "ice_servers": ice_servers,
        "ice_transport_policy": ice_policy,
        "mesh_limit": mesh_limit,
    }
    if forwarder is not None:
        media["peer_id"] = forwarder
    return media


def entry_payload(room: Room, member: Member, media: dict[str, Any], last_seq: int) -> dict[str, Any]:
    """What a person receives on entering: the room, themselves, media settings and where chat stands."""
    return {
        "status": "joined",
        "room": room_view(room, member.role),
        "self": {"peer_id": member.peer_id, "user_id": member.user_id, "role": member.role.value},
        "media": media,
        "chat": {"last_seq": last_seq, "conversation": f"room:{room.room_id}"},
    }
