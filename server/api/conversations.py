"""``GET /api/conversations``: the signed-in person's conversations with their unread counts."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.appkeys import DB
from server.auth import require_user
from server.db.models import ChatMessage, Conversation, ConversationRead, Group, GroupMembership, User
from server.requests import json_response

routes = web.RouteTableDef()


async def _unread(session: AsyncSession, conversation_id: uuid.UUID, reader: uuid.UUID) -> int:
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
        )
    )
    return int(count or 0)


@routes.get("/api/conversations")
async def list_conversations(request: web.Request) -> web.Response:
    user = await require_user(request)
    me = str(user.id)
    entries: list[dict[str, Any]] = []
    async with request.app[DB]() as session:
        groups = (
            await session.execute(
                select(Group.id, Group.name)
                .join(GroupMembership, and_(GroupMembership.group_id == Group.id, GroupMembership.user_id == user.id))
                .where(Group.archived_at.is_(None))
                .order_by(Group.name, Group.id)
            )
        ).all()
        keys = [f"room:{group_id}" for group_id, _ in groups]
        rooms = {
            key: (conversation_id, last_seq)
            for conversation_id, key, last_seq in (
                await session.execute(
                    select(Conversation.id, Conversation.key, Conversation.last_seq).where(Conversation.key.in_(keys))
                )
            ).all()
        }
        for (_, name), key in zip(groups, keys, strict=True):
            conversation_id, last_seq = rooms.get(key, (None, 0))
            unread = 0 if conversation_id is None else await _unread(session, conversation_id, user.id)
            entries.append({"conversation": key, "kind": "room", "title": name, "last_seq": last_seq, "unread": unread})
        direct = await session.execute(
            select(Conversation.id, Conversation.key, Conversation.last_seq).where(
                Conversation.kind == "dm", Conversation.key.contains(me)
            )
        )
        for conversation_id, key, last_seq in direct.all():
            low, high = key.split(":")[1:]
            other = high if low == me else low
            other_user = await session.get(User, uuid.UUID(other))
            entries.append(
                {
                    "conversation": f"dm:{other}",
                    "kind": "dm",
                    "title": other_user.display_name if other_user else None,
                    "last_seq": last_seq,
                    "unread": await _unread(session, conversation_id, user.id),
                }
            )
    return json_response({"conversations": entries})
