"""Groups and their members: ``/api/groups`` and ``/api/groups/{id}/members``.

Membership of a support group is itself sensitive: only administrators and the group's facilitators see a
group's roster, and a participant sees only the groups they belong to.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.appkeys import DB, LIVE
from server.auth import require_admin, require_user
from server.db.models import Group, GroupMembership, MemberRole, User, UserRole
from server.errors import conflict, invalid, not_authorized, not_found
from server.requests import client_address, json_response, path_id, read_body
from server.wire import GroupCreate, GroupUpdate, MemberAdd

routes = web.RouteTableDef()

# Which accounts may hold which place in a group.
MEMBER_ROLES_FOR = {
    MemberRole.FACILITATOR: {UserRole.FACILITATOR.value},
    MemberRole.PARTICIPANT: {UserRole.PARTICIPANT.value, UserRole.MENTOR.value},
}


def group_view(group: Group, my_role: str | None = None) -> dict[str, Any]:
    return {
        "id": str(group.id),
        "name": group.name,
        "capacity": group.capacity,
        "lobby_enabled": group.lobby_enabled,
        "self_unmute_allowed": group.self_unmute_allowed,
        "screen_share_allowed": group.screen_share_allowed,
        "timezone": group.timezone,
        "archived": group.archived_at is not None,
        "created_at": group.created_at.isoformat(),
        "my_role": my_role,
    }


def member_view(membership: GroupMembership, user: User) -> dict[str, Any]:
    return {
        "user_id": str(user.id),
        "display_name": user.display_name,
        "role": membership.role,
        "added_at": membership.created_at.isoformat(),
    }


async def _group(session: AsyncSession, group_id: uuid.UUID) -> Group:
    group = await session.get(Group, group_id)
    if group is None:
        raise not_found("group")
    return group


async def _my_role(session: AsyncSession, group_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    membership = await session.get(GroupMembership, (group_id, user_id))
    return None if membership is None else membership.role


@routes.post("/api/groups")
async def create(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    body = await read_body(request, GroupCreate)
    async with request.app[DB].begin() as session:
        group = Group(id=uuid.uuid4(), created_at=datetime.now(UTC), **body.model_dump())
        session.add(group)
        await session.flush()
        audit.record(
            session,
            action="group.create",
            actor_id=admin.id,
            target_type="group",
            target_id=group.id,
            source=client_address(request),
        )
    return json_response(group_view(group), status=201)


@routes.get("/api/groups")
async def list_groups(request: web.Request) -> web.Response:
    """The groups I facilitate or attend; an administrator may ask for every group with ``?all=true``."""
    user = await require_user(request)
    every = request.query.get("all", "false")
    if every not in {"true", "false"}:
        raise invalid("Query parameter 'all' must be true or false.")
    async with request.app[DB]() as session:
        if every == "true":
            if user.role != UserRole.ADMIN:
                raise not_authorized("Only an administrator can list every group.")
            rows = await session.execute(
                select(Group, GroupMembership.role)
                .outerjoin(
                    GroupMembership,
                    (GroupMembership.group_id == Group.id) & (GroupMembership.user_id == user.id),
                )
                .order_by(Group.name, Group.id)
            )
        else:
            rows = await session.execute(
                select(Group, GroupMembership.role)
                .join(GroupMembership, GroupMembership.group_id == Group.id)
                .where(GroupMembership.user_id == user.id, Group.archived_at.is_(None))
                .order_by(Group.name, Group.id)
            )
        return json_response({"groups": [group_view(group, role) for group, role in rows.all()]})


@routes.get("/api/groups/{id}")
async def show(request: web.Request) -> web.Response:
    user = await require_user(request)
    group_id = path_id(request)
    async with request.app[DB]() as session:
        my_role = await _my_role(session, group_id, user.id)
        # A non-member learns nothing, not even whether the group exists.
        if my_role is None and user.role != UserRole.ADMIN:
            raise not_found("group")
        return json_response(group_view(await _group(session, group_id), my_role))


@routes.patch("/api/groups/{id}")
async def update(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    group_id = path_id(request)
    body = await read_body(request, GroupUpdate)
    changed = sorted(body.model_fields_set)
    if not changed:
        raise invalid("Name at least one field to change.")
    async with request.app[DB].begin() as session:
        group = await _group(session, group_id)
        for field in (
            "name",
            "capacity",
            "lobby_enabled",
            "self_unmute_allowed",
            "screen_share_allowed",
            "timezone",
        ):
            value = getattr(body, field)
            if value is not None:
                setattr(group, field, value)
        if body.archived is not None:
            group.archived_at = datetime.now(UTC) if body.archived else None
        audit.record(
            session,
            action="group.update",
            actor_id=admin.id,
            target_type="group",
            target_id=group.id,
            source=client_address(request),
            detail={"fields": changed},
        )
        my_role = await _my_role(session, group_id, admin.id)
    await request.app[LIVE].group_changed(str(group_id))
    return json_response(group_view(group, my_role))


@routes.get("/api/groups/{id}/members")
async def list_members(request: web.Request) -> web.Response:
    user = await require_user(request)
    group_id = path_id(request)
    async with request.app[DB]() as session:
        my_role = await _my_role(session, group_id, user.id)
        if user.role != UserRole.ADMIN and my_role != MemberRole.FACILITATOR:
            if my_role is None:
                raise not_found("group")
            raise not_authorized("Only the group's facilitators can see its members.")
        await _group(session, group_id)
        rows = await session.execute(
            select(GroupMembership, User)
            .join(User, User.id == GroupMembership.user_id)
            .where(GroupMembership.group_id == group_id)
            .order_by(GroupMembership.role, User.display_name, User.id)
        )
        members = [member_view(m, u) for m, u in rows.all()]
    # Who belongs to a support group is itself sensitive: staff reading a roster is on the access record.
    async with request.app[DB].begin() as session:
        audit.record(
            session,
            action="group.roster.read",
            actor_id=user.id,
            target_type="group",
            target_id=group_id,
            source=client_address(request),
            detail={"count": len(members)},
        )
    return json_response({"members": members})


@routes.post("/api/groups/{id}/members")
async def add_member(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    group_id = path_id(request)
    body = await read_body(request, MemberAdd)
    async with request.app[DB].begin() as session:
        await _group(session, group_id)
        user = await session.get(User, body.user_id)
        if user is None:
            raise not_found("user")
        if user.role not in MEMBER_ROLES_FOR[body.role]:
            raise invalid(f"A {user.role} account cannot be added to a group as {body.role.value}.")
        if await session.get(GroupMembership, (group_id, user.id)) is not None:
            raise conflict("This person is already a member of the group.")
        membership = GroupMembership(
            group_id=group_id, user_id=user.id, role=body.role.value, created_at=datetime.now(UTC)
        )
        session.add(membership)
        try:
            await session.flush()
        except IntegrityError:
            raise conflict("This person is already a member of the group.") from None
        audit.record(
            session,
            action="group.member.add",
            actor_id=admin.id,
            target_type="group",
            target_id=group_id,
            source=client_address(request),
            detail={"user_id": str(user.id), "role": body.role.value},
        )
    return json_response({"group_id": str(group_id), **member_view(membership, user)}, status=201)


@routes.delete("/api/groups/{id}/members/{user_id}")
async def remove_member(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    group_id = path_id(request)
    user_id = path_id(request, "user_id")
    async with request.app[DB].begin() as session:
        membership = await session.get(GroupMembership, (group_id, user_id))
        if membership is None:
            raise not_found("membership")
        await session.delete(membership)
        audit.record(
            session,
            action="group.member.remove",
            actor_id=admin.id,
            target_type="group",
            target_id=group_id,
            source=client_address(request),
            detail={"user_id": str(user_id)},
        )
    await request.app[LIVE].membership_removed(str(group_id), str(user_id))
    return web.Response(status=204)
