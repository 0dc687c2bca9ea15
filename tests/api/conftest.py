"""An app with its lifespan running, an HTTP client, and a signed-in user per role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from datacollect.api.app import create_app
from datacollect.config import Settings
from datacollect.nodes.builtin import NODES
from datacollect.nodes.registry import NodeRegistry
from datacollect.platform import Platform
from datacollect.security.users import create_user
from tests.engine.helpers import TEST_NODES

PASSWORD = "correct-horse-battery"


@dataclass
class Api:
    client: httpx.AsyncClient
    platform: Platform
    tokens: dict[str, str]

    def auth(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def get(self, url: str, role: str = "admin", **kw: Any) -> httpx.Response:
        return await self.client.get(url, headers={**self.auth(role), **kw.pop("headers", {})}, **kw)

    async def post(self, url: str, role: str = "admin", **kw: Any) -> httpx.Response:
        return await self.client.post(url, headers={**self.auth(role), **kw.pop("headers", {})}, **kw)

    async def put(self, url: str, role: str = "admin", **kw: Any) -> httpx.Response:
        return await self.client.put(url, headers={**self.auth(role), **kw.pop("headers", {})}, **kw)

    async def patch(self, url: str, role: str = "admin", **kw: Any) -> httpx.Response:
        return await self.client.patch(url, headers={**self.auth(role), **kw.pop("headers", {})}, **kw)

    async def delete(self, url: str, role: str = "admin", **kw: Any) -> httpx.Response:
        return await self.client.delete(url, headers={**self.auth(role), **kw.pop("headers", {})}, **kw)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    platform = Platform.create(settings, registry=NodeRegistry([*NODES, *TEST_NODES]))
    app = create_app(settings, platform, scheduler=True)
    async with app.router.lifespan_context(app):
        with platform.db.sessions(bind=platform.db.writer) as s, s.begin():
            for role in ("admin", "builder", "reviewer", "viewer"):
                create_user(s, f"{role}@example.com", PASSWORD, role, actor="test")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            tokens = {}
            for role in ("admin", "builder", "reviewer", "viewer"):
                r = await client.post("/api/auth/token", data={"username": f"{role}@example.com", "password": PASSWORD})
                assert r.status_code == 200, r.text
                tokens[role] = r.json()["access_token"]
            yield Api(client, platform, tokens)
