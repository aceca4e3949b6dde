"""Administration of users: ``/api/users``."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import select

from server import audit
from server.accounts import create_user, user_view
from server.appkeys import DB, LIVE
from server.auth import require_admin
from server.db.models import User
from server.errors import invalid, not_found
from server.passwords import hash_password
from server.requests import client_address, json_response, path_id, query_int, read_body
from server.wire import UserCreate, UserUpdate
from signaling.control import AccessChange

routes = web.RouteTableDef()


@routes.post("/api/users")
async def create(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    body = await read_body(request, UserCreate)
    async with request.app[DB].begin() as session:
        user = await create_user(session, body, actor_id=admin.id, source=client_address(request))
    return json_response(user_view(user), status=201)


@routes.get("/api/users")
async def list_users(request: web.Request) -> web.Response:
    await require_admin(request)
    limit = query_int(request, "limit", 100, 1, 500)
    offset = query_int(request, "offset", 0, 0, 10_000_000)
    async with request.app[DB]() as session:
        rows = await session.execute(select(User).order_by(User.created_at, User.id).limit(limit).offset(offset))
        return json_response({"users": [user_view(user) for user in rows.scalars()]})


@routes.get("/api/users/{id}")
async def show(request: web.Request) -> web.Response:
    await require_admin(request)
    async with request.app[DB]() as session:
        user = await session.get(User, path_id(request))
        if user is None:
            raise not_found("user")
        return json_response(user_view(user))


@routes.patch("/api/users/{id}")
async def update(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    user_id = path_id(request)
    body = await read_body(request, UserUpdate)
    changed = sorted(body.model_fields_set)
    if not changed:
        raise invalid("Name at least one field to change.")
    if user_id == admin.id and (body.disabled or (body.role is not None and body.role != admin.role)):
        raise invalid("Administrators cannot disable themselves or give up their own role.")
    async with request.app[DB].begin() as session:
        user = await session.get(User, user_id, with_for_update=True)
        if user is None:
            raise not_found("user")
        was_active, old_role = user.disabled_at is None, user.role
        if body.display_name is not None:
            user.display_name = body.display_name
        if body.role is not None:
            user.role = body.role.value
        if body.password is not None:
            user.password_hash = await hash_password(body.password)
            # Every token issued before is refused from now on (REST and live connections).
            user.session_epoch += 1
        if body.disabled is not None:
            user.disabled_at = datetime.now(UTC) if body.disabled else None
        audit.record(
            session,
            action="user.update",
            actor_id=admin.id,
            target_type="user",
            target_id=user.id,
            source=client_address(request),
            detail={"fields": changed, **({"role": body.role.value} if body.role else {})},
        )
    change = None
    if was_active and user.disabled_at is not None:
        change = AccessChange.DISABLED
    elif body.password is not None:
        change = AccessChange.SIGNED_OUT
    elif user.role != old_role:
        change = AccessChange.ROLE_CHANGED
    if change is not None:
        await request.app[LIVE].account_changed(str(user.id), change)
    return json_response(user_view(user))
