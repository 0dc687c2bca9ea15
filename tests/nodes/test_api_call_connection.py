"""APICall with a stored HTTP connection: the endpoint is a path after the connection's base URL,
the call signs in as the connection says (OAuth2 client credentials here, the token fetched once
and reused), the secret never shows in the run, and a step cannot sign in twice."""

from __future__ import annotations

import base64
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from tests.api.conftest import Api, api  # noqa: F401 (the API fixture)
from tests.engine.helpers import node, wf
from tests.integrations.servers import serve


async def test_an_api_call_signs_in_with_a_stored_connection_and_calls_a_path_after_its_base_url(api: Api) -> None:  # noqa: F811
    issued: list[str] = []
    calls: list[tuple[str, str | None]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        if request.url.path == "/oauth/token":
            good = "Basic " + base64.b64encode(b"collector-app:client-secret-1").decode()
            issued.append(f"tok-{len(issued)}")
            response = (JSONResponse({"access_token": issued[-1], "expires_in": 3600})
                        if request.headers.get("authorization") == good else JSONResponse({}, 401))
        else:
            calls.append((request.url.path, request.headers.get("authorization")))
            response = JSONResponse({"id": request.url.path.rsplit("/", 1)[1], "status": "active"})
        await response(scope, receive, send)

    with serve(app) as server:
        r = await api.post("/api/connections", json={"id": "supplier-api", "name": "Supplier API", "kind": "http",
                                                      "config": {"base_url": server.url + "/v2", "auth_type": "oauth2",
                                                                 "token_url": server.url + "/oauth/token",
                                                                 "client_id": "collector-app",
                                                                 "client_secret": "client-secret-1"}})
        assert r.status_code == 201, r.text
        r = await api.post("/api/workflows", role="builder", json=wf("lookup", [
            node("start", "ManualTrigger"),
            node("get", "APICall", connection="supplier-api", method="GET", endpoint="/suppliers/{{ item.id }}",
                 response_path="")], [("start", "get")]))
        assert r.status_code == 201, r.text
        r = await api.post("/api/workflows/lookup/run", role="builder", json={"data": [{"id": "S-1"}, {"id": "S-2"}]})
        run = r.json()
        assert run["status"] == "completed", run

    assert sorted(calls) == [("/v2/suppliers/S-1", "Bearer tok-0"), ("/v2/suppliers/S-2", "Bearer tok-0")]
    assert issued == ["tok-0"]  # one token for both calls
    out = next(a for a in run["activations"] if a["node_id"] == "get")["output"]["main"]
    assert sorted(i["id"] for i in out) == ["S-1", "S-2"]
    assert "client-secret-1" not in str(run) and "tok-0" not in str(run)


async def test_a_step_signs_in_with_its_connection_or_its_auth_not_both(api: Api) -> None:  # noqa: F811
    r = await api.post("/api/workflows", json=wf("twice", [
        node("start", "ManualTrigger"),
        node("get", "APICall", connection="supplier-api", endpoint="/x", auth={"type": "bearer", "token": "t"})],
        [("start", "get")]))
    assert r.status_code == 422 and "not both" in r.text
    r = await api.post("/api/workflows", json=wf("nobase", [
        node("start", "ManualTrigger"), node("get", "APICall", endpoint="/x")], [("start", "get")]))
    assert r.status_code == 422 and "or a path, with a connection" in r.text


async def test_a_token_revoked_between_two_calls_is_fetched_again_once(api: Api) -> None:  # noqa: F811
    issued: list[str] = []
    revoked: set[str] = set()
    calls: list[tuple[str, int]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        if request.url.path == "/oauth/token":
            issued.append(f"tok-{len(issued)}")
            response = JSONResponse({"access_token": issued[-1], "expires_in": 3600})
        else:
            token = (request.headers.get("authorization") or "").removeprefix("Bearer ")
            status = 200 if token in issued and token not in revoked else 401
            calls.append((token, status))
            revoked.add("tok-0")  # the API revokes the first token after its first call
            response = JSONResponse({"ok": status == 200}, status)
        await response(scope, receive, send)

    with serve(app) as server:
        await api.post("/api/connections", json={"id": "rotating", "name": "Rotating", "kind": "http", "config": {
            "base_url": server.url, "auth_type": "oauth2", "token_url": server.url + "/oauth/token",
            "client_id": "c", "client_secret": "s"}})
        await api.post("/api/workflows", json=wf("rotate", [
            node("start", "ManualTrigger"),
            node("get", "APICall", connection="rotating", method="GET", endpoint="/things/{{ item.n }}",
                 concurrency=1)], [("start", "get")]))
        run = (await api.post("/api/workflows/rotate/run", json={"data": [{"n": 1}, {"n": 2}]})).json()

    assert run["status"] == "completed", run
    assert calls == [("tok-0", 200), ("tok-0", 401), ("tok-1", 200)]
