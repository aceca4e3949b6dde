"""A group's agreement (its confidentiality rules): ``/api/groups/{id}/agreement``.

Versioned: each ``PUT`` adds the next version, and the highest is the one in force. A participant accepts the
version in force (a row in ``consents`` with its time) before entering the room; a new version asks again, as the
room's ``agreement_required`` refusal says. Facilitators are not asked. The text itself is never audited.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import AfterValidator, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.appkeys import DB
from server.auth import current_user
from server.db.models import Consent, Group, GroupAgreement, GroupMembership, MemberRole, User, UserRole
from server.errors import conflict, not_authorized, not_found
from server.requests import client_address, json_response, path_id, read_body
from server.wire import Body

routes = web.RouteTableDef()

MAX_AGREEMENT_CHARS = 20_000


def _agreement_text(value: str) -> str:
    value = unicodedata.normalize("NFC", value)
    if not value.strip():
        raise ValueError("must not be blank")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in value):
        raise ValueError("must not contain control characters other than line breaks and tabs")
    return value


class AgreementSet(Body):
    text: Annotated[str, Field(min_length=1, max_length=MAX_AGREEMENT_CHARS), AfterValidator(_agreement_text)]


class AgreementAccept(Body):
    version: Annotated[int, Field(ge=1, le=2**31 - 1)]


async def _reader(request: web.Request, session: AsyncSession, group_id: uuid.UUID) -> tuple[User, str | None]:
    """The signed-in reader and their place in the group; anyone who is neither a member nor an administrator
    learns nothing, not even whether the group exists."""
    user = await current_user(request, session)
    role = await session.scalar(
        select(GroupMembership.role).where(GroupMembership.group_id == group_id, GroupMembership.user_id == user.id)
    )
    if role is None and user.role != UserRole.ADMIN:
        raise not_found("group")
    if await session.get(Group, group_id) is None:
        raise not_found("group")
    return user, role


async def current_agreement(session: AsyncSession, group_id: uuid.UUID) -> GroupAgreement | None:
    return await session.scalar(
        select(GroupAgreement)
        .where(GroupAgreement.group_id == group_id)
        .order_by(GroupAgreement.version.desc())
        .limit(1)
    )


async def _accepted_at(session: AsyncSession, group_id: uuid.UUID, user_id: uuid.UUID, version: int) -> datetime | None:
    return await session.scalar(
        select(Consent.agreed_at).where(
            Consent.group_id == group_id, Consent.user_id == user_id, Consent.agreement_version == str(version)
        )
    )


def agreement_view(agreement: GroupAgreement | None, accepted_at: datetime | None, required: bool) -> dict[str, Any]:
    if agreement is None:
        return {"version": None, "text": None, "accepted": True, "accepted_at": None, "required": False}
    return {
        "version": agreement.version,
        "text": agreement.text,
        "accepted": accepted_at is not None,
        "accepted_at": None if accepted_at is None else accepted_at.isoformat(),
        # Whether the reader must accept it to enter the room (participants only).
        "required": required and accepted_at is None,
        "created_at": agreement.created_at.isoformat(),
    }


@routes.get("/api/groups/{id}/agreement")
async def show(request: web.Request) -> web.Response:
    group_id = path_id(request)
    async with request.app[DB]() as session:
        user, role = await _reader(request, session, group_id)
        agreement = await current_agreement(session, group_id)
        accepted_at = None if agreement is None else await _accepted_at(session, group_id, user.id, agreement.version)
        return json_response(agreement_view(agreement, accepted_at, role == MemberRole.PARTICIPANT))


@routes.put("/api/groups/{id}/agreement")
async def replace(request: web.Request) -> web.Response:
    """Publish a new version (administrators, the group's facilitators); participants are asked to accept it."""
    group_id = path_id(request)
    async with request.app[DB]() as session:
        user, role = await _reader(request, session, group_id)
        if user.role != UserRole.ADMIN and role != MemberRole.FACILITATOR:
            raise not_authorized("Only the group's facilitators and administrators can set its agreement.")
    body = await read_body(request, AgreementSet)
    now = datetime.now(UTC)
    try:
        async with request.app[DB].begin() as session:
            latest = await session.scalar(
                select(func.max(GroupAgreement.version)).where(GroupAgreement.group_id == group_id)
            )
            version = (latest or 0) + 1
            session.add(
                GroupAgreement(group_id=group_id, version=version, text=body.text, created_by=user.id, created_at=now)
            )
            await session.flush()
            audit.record(
                session,
                action="agreement.update",
                actor_id=user.id,
                target_type="group",
                target_id=group_id,
                source=client_address(request),
                detail={"version": version},
                at=now,
            )
    except IntegrityError:
        # Another version was published at the same moment: the caller reads it and decides again.
        raise conflict("The agreement changed at the same time; read it and try again.") from None
    return json_response({"version": version, "created_at": now.isoformat()})


@routes.post("/api/groups/{id}/agreement/accept")
async def accept(request: web.Request) -> web.Response:
    """The reader accepts the version in force (naming it, so that nobody accepts a text they did not see)."""
    group_id = path_id(request)
    body = await read_body(request, AgreementAccept)
    try:
        return await _accept(request, group_id, body.version)
    except IntegrityError:
        # The same person accepted at the same moment from another device: it is accepted, once.
        return await _accept(request, group_id, body.version)


async def _accept(request: web.Request, group_id: uuid.UUID, version: int) -> web.Response:
    async with request.app[DB].begin() as session:
        user, role = await _reader(request, session, group_id)
        if role is None:
            raise not_authorized("Only the group's members accept its agreement.")
        agreement = await current_agreement(session, group_id)
        if agreement is None or agreement.version != version:
            raise conflict("That is not the agreement in force; read it again and accept the current version.")
        accepted_at = await _accepted_at(session, group_id, user.id, agreement.version)
        if accepted_at is None:
            accepted_at = datetime.now(UTC)
            consent = Consent(
                user_id=user.id, group_id=group_id, agreement_version=str(agreement.version), agreed_at=accepted_at
            )
            session.add(consent)
            await session.flush()
            audit.record(
                session,
                action="agreement.accept",
                actor_id=user.id,
                target_type="group",
                target_id=group_id,
                source=client_address(request),
                detail={"version": agreement.version},
                at=accepted_at,
            )
    return json_response(agreement_view(agreement, accepted_at, role == MemberRole.PARTICIPANT))
