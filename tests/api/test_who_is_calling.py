"""Every endpoint checks who is calling: without a token or key, every route of the API answers
401 with the error shape, except the ones the public must reach (health, login, form links,
webhooks, the web app and the API's own documents). A route added later without a check fails
here."""

from __future__ import annotations

import re

from tests.api.conftest import Api

#: reached without signing in, each with its own guard: a form link's token, a webhook's header
#: token or signature, a waiting run's unguessable id (the Wait node's resume URL)
PUBLIC = re.compile(r"^(/healthz|/readyz|/api/auth/token|/webhook/.*|/webhook-waiting/\{run_id\}"
                    r"|/api/public/forms/.*|/|/\{path:path\})$")


def routes(api: Api) -> list[tuple[str, str]]:
    """Every documented route (the OpenAPI document lists what the API serves)."""
    app = api.client._transport.app  # type: ignore[attr-defined]
    return [(method.upper(), path) for path, ops in app.openapi()["paths"].items() if not PUBLIC.match(path)
            for method in ops if method in ("get", "post", "put", "patch", "delete")]


async def test_every_route_but_the_public_ones_answers_401_to_a_caller_without_credentials(api: Api) -> None:
    found = routes(api)
    assert len(found) > 80  # the whole API, not a few routes
    open_doors = []
    for method, path in found:
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        r = await api.client.request(method, concrete, json={})
        if r.status_code != 401 or "error" not in r.json():
            open_doors.append(f"{method} {path} -> {r.status_code}")
    assert open_doors == []


async def test_a_wrong_token_or_key_is_refused_as_plainly(api: Api) -> None:
    r = await api.client.get("/api/workflows", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and "log in again" in r.json()["error"]["message"]
    r = await api.client.get("/api/workflows", headers={"X-API-Key": "dc_not-a-key"})
    assert r.status_code == 401 and "API key" in r.json()["error"]["message"]
