"""Validated wire models for REST bodies: bounded lengths, strict types, no unknown fields."""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from server.db.models import MAX_CAPACITY, MIN_CAPACITY, MemberRole, UserRole

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError("is not an email address")
    return value


def _plain_text(value: str) -> str:
    value = unicodedata.normalize("NFC", value.strip())
    if not value:
        raise ValueError("must not be blank")
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise ValueError("must not contain control or invisible format characters")
    return value


Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
DisplayName = Annotated[str, Field(min_length=1, max_length=80), AfterValidator(_plain_text)]
GroupName = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_plain_text)]
# NIST SP 800-63B: at least 8 characters; the upper bound keeps hashing cost bounded.
NewPassword = Annotated[str, Field(min_length=8, max_length=256)]
Capacity = Annotated[int, Field(ge=MIN_CAPACITY, le=MAX_CAPACITY)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class LoginBody(Body):
    email: Annotated[str, Field(min_length=1, max_length=254)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class UserCreate(Body):
    email: Email
    display_name: DisplayName
    role: UserRole
    password: NewPassword


class UserUpdate(Body):
    display_name: DisplayName | None = None
    role: UserRole | None = None
    password: NewPassword | None = None
    disabled: bool | None = None


class GroupCreate(Body):
    name: GroupName
    capacity: Capacity
    lobby_enabled: bool = True
    self_unmute_allowed: bool = True


class GroupUpdate(Body):
    name: GroupName | None = None
    capacity: Capacity | None = None
    lobby_enabled: bool | None = None
    self_unmute_allowed: bool | None = None
    archived: bool | None = None


class MemberAdd(Body):
    user_id: uuid.UUID
    role: MemberRole


class PairingCreate(Body):
    mentor_id: uuid.UUID
    mentee_id: uuid.UUID
