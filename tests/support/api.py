"""A thin client for the REST API as the tests use it."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientSession
from aiohttp.test_utils import TestClient

from server.accounts import create_user
from server.appkeys import DB
from server.db.models import UserRole
from server.wire import UserCreate


class Api:
    """Works over an in-process ``TestClient`` or an ``aiohttp.ClientSession`` with a ``base_url``."""

    def __init__(self, client: TestClient | ClientSession) -> None:
        self.client = client

    @property
    def db(self):  # type: ignore[no-untyped-def]
        assert isinstance(self.client, TestClient), "the database is only at hand in-process"
        return self.client.app[DB]

    async def call(
        self, method: str, path: str, token: str | None = None, json: Any = None, **kwargs: Any
    ) -> tuple[int, Any]:
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self.client.request(method, path, json=json, headers=headers, **kwargs) as response:
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, await response.text()

    async def create_user_directly(self, email: str, name: str, role: str, password: str) -> str:
        async with self.db.begin() as session:
            body = UserCreate(email=email, display_name=name, role=UserRole(role), password=password)
            user = await create_user(session, body, actor_id=None, source="test")
        return str(user.id)

    async def login(self, email: str, password: str) -> str:
        status, body = await self.call("POST", "/api/auth/login", json={"email": email, "password": password})
        assert status == 200, body
        return str(body["token"])

    async def user(self, admin: str, email: str, role: str, name: str | None = None) -> tuple[str, str]:
        """Create a user through the admin API; return its id and a token for it."""
        password = "password-" + email
        status, body = await self.call(
            "POST",
            "/api/users",
            admin,
            {"email": email, "display_name": name or email.split("@")[0], "role": role, "password": password},
        )
        assert status == 201, body
        return body["id"], await self.login(email, password)

    async def group(self, admin: str, name: str = "Tuesday evening group", capacity: int = 12) -> str:
        status, body = await self.call("POST", "/api/groups", admin, {"name": name, "capacity": capacity})
        assert status == 201, body
        return str(body["id"])

    async def enrol(self, admin: str, group_id: str, user_id: str, role: str) -> None:
        status, body = await self.call(
            "POST", f"/api/groups/{group_id}/members", admin, {"user_id": user_id, "role": role}
        )
        assert status == 201, body
