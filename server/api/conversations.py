"""``GET /api/conversations``: the signed-in person's conversations with their unread counts: their groups' rooms,
and a direct conversation with everyone they may message now (a paired mentor or mentee; a facilitator of one of
their groups; a member of a group they facilitate), whether or not anything was said yet."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from server.appkeys import DB
from server.auth import require_user
from server.chat_repository import sessions_readable_by
from server.db.models import ChatMessage, Conversation, ConversationRead, Group, GroupMembership, Pairing, User
from server.requests import json_response

routes = web.RouteTableDef()


async def _unread(
    session: AsyncSession, conversation_id: uuid.UUID, reader: uuid.UUID, sessions: set[uuid.UUID] | None = None
) -> int:
    """Others' messages after the reader's mark; only those of ``sessions`` when given (what a participant may read
    of their group's chat)."""
    last_read = await session.scalar(
        select(ConversationRead.last_read_seq).where(
            ConversationRead.user_id == reader, ConversationRead.conversation_id == conversation_id
        )
    )
    count = await session.scalar(
        select(func.count())
        .select_from(ChatMessage)
        .where(
            ChatMessage.conversation_id == conversation_id,
            ChatMessage.seq > (last_read or 0),
            or_(ChatMessage.sender_id.is_(None), ChatMessage.sender_id != reader),
            ChatMessage.body.is_not(None),
            *(() if sessions is None else (ChatMessage.session_id.in_(sessions),)),
        )
    )
    return int(count or 0)


async def _reachable(session: AsyncSession, me: uuid.UUID) -> dict[str, tuple[str, str]]:
    """Everyone ``me`` may message now, as user id -> (display name, what they are to ``me``): a pairing first, then
    a group they share with ``me`` as its facilitator (``facilitator``) or ``me``'s group member (``group_member``)."""
    found: dict[str, tuple[str, str]] = {}
    pairings = await session.execute(
        select(Pairing.mentor_id, Pairing.mentee_id).where(
            Pairing.active.is_(True), or_(Pairing.mentor_id == me, Pairing.mentee_id == me)
        )
    )
    relation: dict[uuid.UUID, str] = {}
    for mentor_id, mentee_id in pairings.all():
        if mentor_id == me:
            relation.setdefault(mentee_id, "mentee")
        else:
            relation.setdefault(mentor_id, "mentor")
    mine = aliased(GroupMembership)
    theirs = aliased(GroupMembership)
    shared = await session.execute(
        select(theirs.user_id, mine.role, theirs.role)
        .join(theirs, theirs.group_id == mine.group_id)
        .join(Group, Group.id == mine.group_id)
        .where(mine.user_id == me, theirs.user_id != me, Group.archived_at.is_(None))
    )
    for other, my_role, their_role in shared.all():
        if their_role == "facilitator":
            relation.setdefault(other, "facilitator")
        elif my_role == "facilitator":
            relation.setdefault(other, "group_member")
    if relation:
        people = await session.execute(
            select(User.id, User.display_name).where(User.id.in_(relation), User.disabled_at.is_(None))
        )
        for user_id, name in people.all():
            found[str(user_id)] = (name, relation[user_id])
    return found


@routes.get("/api/conversations")
async def list_conversations(request: web.Request) -> web.Response:
    user = await require_user(request)
    me = str(user.id)
    entries: list[dict[str, Any]] = []
    async with request.app[DB]() as session:
        groups = (
            await session.execute(
                select(Group.id, Group.name, GroupMembership.role)
                .join(GroupMembership, and_(GroupMembership.group_id == Group.id, GroupMembership.user_id == user.id))
                .where(Group.archived_at.is_(None))
                .order_by(Group.name, Group.id)
            )
        ).all()
        keys = [f"room:{group_id}" for group_id, _, _ in groups]
        rooms = {
            key: (conversation_id, last_seq)
            for conversation_id, key, last_seq in (
                await session.execute(
                    select(Conversation.id, Conversation.key, Conversation.last_seq).where(Conversation.key.in_(keys))
                )
            ).all()
        }
        for (group_id, name, role), key in zip(groups, keys, strict=True):
            conversation_id, last_seq = rooms.get(key, (None, 0))
            unread = 0
            if conversation_id is not None:
                # A participant counts only the sessions they may read (those they attended), as chat:history shows.
                readable = None if role == "facilitator" else await sessions_readable_by(session, group_id, user.id)
                unread = await _unread(session, conversation_id, user.id, readable)
            entries.append({"conversation": key, "kind": "room", "title": name, "last_seq": last_seq, "unread": unread})
        direct = await session.execute(
            select(Conversation.id, Conversation.key, Conversation.last_seq).where(
                Conversation.kind == "dm", Conversation.key.contains(me)
            )
        )
        # A direct conversation is read and written only while the two are linked (chat:history refuses it after),
        # so one whose pairing or shared group ended is left out: its unread messages could never be cleared.
        reachable = await _reachable(session, user.id)
        stored = {}
        for conversation_id, key, last_seq in direct.all():
            low, high = key.split(":")[1:]
            stored[high if low == me else low] = (conversation_id, last_seq)
        for other, (name, relationship) in sorted(reachable.items(), key=lambda item: (item[1][0], item[0])):
            conversation_id, last_seq = stored.get(other, (None, 0))
            unread = 0 if conversation_id is None else await _unread(session, conversation_id, user.id)
            entries.append(
                {
                    "conversation": f"dm:{other}",
                    "kind": "dm",
                    "title": name,
                    "last_seq": last_seq,
                    "unread": unread,
                    "relationship": relationship,
                }
            )
    return json_response({"conversations": entries})
