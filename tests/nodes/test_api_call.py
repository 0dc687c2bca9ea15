"""APICall against a real HTTP server started by the tests on 127.0.0.1 (Starlette under uvicorn)."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from datacollect.errors import RetryableNodeError
from datacollect.integrations import http
from datacollect.nodes.api_call import APICall
from tests.nodes.conftest import make_ctx, make_node


# ------------------------------------------------------------------------- the peer
class Peer:
    """What the server saw, and the state of its flaky endpoints."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def seen(self, prefix: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].startswith(prefix)]


peer = Peer()


async def _record(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode()
    seen = {"method": request.method, "path": request.url.path, "query": dict(request.query_params),
            "headers": dict(request.headers), "body": body}
    peer.requests.append(seen)
    return seen


async def echo(request: Request) -> Response:
    return JSONResponse(await _record(request), status_code=200)


async def flaky(request: Request) -> Response:
    await _record(request)
    name = request.path_params["name"]
    peer.counts[name] += 1
    if peer.counts[name] <= 2:
        return JSONResponse({"error": "try again"}, status_code=503)
    return JSONResponse({"attempt": peer.counts[name]}, status_code=201)


async def limited(request: Request) -> Response:
    await _record(request)
    name = request.path_params["name"]
    peer.counts[name] += 1
    if peer.counts[name] == 1:
        return JSONResponse({"error": "slow down"}, status_code=429,
                            headers={"Retry-After": request.query_params.get("wait", "2")})
    return JSONResponse({"ok": True})


async def always(request: Request) -> Response:
    await _record(request)
    status = int(request.path_params["status"])
    return JSONResponse({"error": f"always {status}", "detail": "x" * 3000}, status_code=status,
                        headers={"Retry-After": request.query_params["wait"]}
                        if "wait" in request.query_params else None)


ALL_RECORDS = [{"id": n, "name": f"supplier {n}"} for n in range(1, 6)]


async def pages(request: Request) -> Response:
    await _record(request)
    page = int(request.query_params.get("page", "1"))
    chunk = ALL_RECORDS[(page - 1) * 2: page * 2]
    return JSONResponse({"data": {"items": chunk, "page": page}})


async def cursor(request: Request) -> Response:
    await _record(request)
    after = int(request.query_params.get("after", "0"))
    chunk = ALL_RECORDS[after: after + 2]
    nxt = f"/cursor?after={after + 2}" if after + 2 < len(ALL_RECORDS) else None
    return JSONResponse({"data": chunk, "links": {"next": nxt}})


async def linked(request: Request) -> Response:
    await _record(request)
    after = int(request.query_params.get("after", "0"))
    headers = {}
    if after + 2 < len(ALL_RECORDS):
        headers["Link"] = f'<{request.base_url}linked?after={after + 2}>; rel="next"'
    return JSONResponse(ALL_RECORDS[after: after + 2], headers=headers)


async def hang(request: Request) -> Response:
    await _record(request)
    await asyncio.sleep(1)
    return JSONResponse({"late": True})


async def slow(request: Request) -> Response:
    await _record(request)
    peer.in_flight += 1
    peer.max_in_flight = max(peer.max_in_flight, peer.in_flight)
    await asyncio.sleep(float(request.query_params.get("s", "0.05")))
    peer.in_flight -= 1
    return JSONResponse({"ok": True})


app = Starlette(routes=[
    Route("/echo/{rest:path}", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    Route("/flaky/{name}", flaky, methods=["GET", "POST"]),
    Route("/limited/{name}", limited, methods=["GET", "POST"]),
    Route("/always/{status}", always, methods=["GET", "POST"]),
    Route("/pages", pages),
    Route("/cursor", cursor),
    Route("/linked", linked),
    Route("/slow", slow, methods=["GET", "POST"]),
    Route("/hang", hang, methods=["GET", "POST"]),
])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws="none",
                                        http="h11", access_log=False))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test HTTP server did not start")
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(autouse=True)
async def fresh(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[float]]:
    """A clean peer, waits recorded instead of slept, and the shared client closed after."""
    peer.reset()
    delays: list[float] = []

    async def no_wait(seconds: float) -> None:
        delays.append(seconds)
        await asyncio.sleep(0)

    monkeypatch.setattr(http, "sleep", no_wait)
    yield delays
    await http.aclose_clients()


@pytest.fixture
def delays(fresh: list[float]) -> list[float]:
    return fresh


def api(server: str, **config: Any) -> APICall:
    endpoint = config.pop("endpoint", "/echo/")
    if endpoint.startswith("/"):
        endpoint = server + endpoint
    config.setdefault("retry_backoff", 0.01)
    return make_node(APICall, {"endpoint": endpoint, **config}, node_id="api")  # type: ignore[return-value]


def ctx(**kw: Any):
    return make_ctx(node_id="api", run_id="run-7", trigger={"quarter": "2025-Q1"}, **kw)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------- retries
async def test_a_call_is_retried_after_two_503_and_its_answer_passed_on(server: str, delays: list[float]) -> None:
    node = api(server, endpoint="/flaky/{{ item.id }}")

    out = await node.run(ctx(), [{"id": "acme"}])

    assert out["main"] == [{"id": "acme", "response": {"status": 201, "body": {"attempt": 3}}}]
    assert len(peer.seen("/flaky/acme")) == 3
    assert len(delays) == 2


async def test_every_attempt_carries_the_same_idempotency_key(server: str) -> None:
    node = api(server, endpoint="/flaky/{{ item.id }}")

    await node.run(ctx(), [{"id": "acme"}, {"id": "globex"}])

    keys = {r["path"]: set() for r in peer.requests}
    for r in peer.requests:
        keys[r["path"]].add(r["headers"]["idempotency-key"])
    assert keys == {"/flaky/acme": {"run-7/api/0/0"}, "/flaky/globex": {"run-7/api/0/1"}}


async def test_retry_after_is_honoured(server: str, delays: list[float]) -> None:
    node = api(server, endpoint="/limited/acme?wait=2", max_retries=3)

    out = await node.run(ctx(), [{"id": 1}])

    assert out["main"][0]["response"]["status"] == 200
    assert delays == [2.0]


async def test_a_429_that_does_not_stop_is_a_retryable_node_error(server: str, delays: list[float]) -> None:
    node = api(server, endpoint="/always/429?wait=1", max_retries=2)

    with pytest.raises(RetryableNodeError) as info:
        await node.run(ctx(), [{"id": 1}])

    assert "failed after 3 attempts: answered 429" in info.value.message
    assert delays == [1.0, 1.0]


async def test_a_retry_after_longer_than_allowed_ends_the_retries_at_once(server: str, delays: list[float]) -> None:
    node = api(server, endpoint="/always/503?wait=3600", max_retries=5, max_retry_wait=60)

    with pytest.raises(RetryableNodeError) as info:
        await node.run(ctx(), [{"id": 1}])

    assert "Retry-After" in info.value.message
    assert delays == []
    assert len(peer.requests) == 1


async def test_connection_refused_is_a_retryable_node_error_after_the_retries(delays: list[float]) -> None:
    node = make_node(APICall, {"endpoint": f"http://127.0.0.1:{_closed_port()}/suppliers",
                               "max_retries": 2, "retry_backoff": 0.01})

    with pytest.raises(RetryableNodeError) as info:
        await node.run(ctx(), [{"id": 1}, {"id": 2}])

    assert "failed after 3 attempts: could not connect" in info.value.message
    assert len(delays) == 4  # two retries for each of the two items


async def test_a_timeout_is_retried_then_reported(server: str, delays: list[float]) -> None:
    node = api(server, endpoint="/hang", timeout=0.2, max_retries=1)

    with pytest.raises(RetryableNodeError) as info:
        await node.run(ctx(), [{"id": 1}])

    assert "no answer within the timeout" in info.value.message
    assert len(peer.seen("/hang")) == 2


async def test_when_some_calls_succeed_the_ones_that_kept_failing_go_to_the_error_port(server: str) -> None:
    node = api(server, endpoint="{{ item.path }}", max_retries=1)

    out = await node.run(ctx(), [{"path": f"{server}/echo/ok"}, {"path": f"{server}/always/503"}])

    assert [it["path"] for it in out["main"]] == [f"{server}/echo/ok"]
    assert out["error"][0]["error"]["status"] == 503
    assert "failed after 2 attempts" in out["error"][0]["error"]["message"]


# ----------------------------------------------------------------------------- errors
async def test_a_404_sends_the_item_to_the_error_port_with_status_and_body(server: str) -> None:
    node = api(server, endpoint="{{ item.url }}", method="GET")

    out = await node.run(ctx(), [{"url": f"{server}/echo/a"}, {"url": f"{server}/nothing/here"}])

    assert [it["url"] for it in out["main"]] == [f"{server}/echo/a"]
    error = out["error"][0]["error"]
    assert error["status"] == 404
    assert error["message"] == f"GET {server}/nothing/here answered 404 Not Found"
    assert "Not Found" in error["body"]
    assert len(peer.requests) == 1  # a 404 is not retried (and /nothing/here is not recorded)


async def test_a_4xx_body_is_cut_to_an_excerpt(server: str) -> None:
    out = await api(server, endpoint="/always/422").run(ctx(), [{"id": 1}])

    body = out["error"][0]["error"]["body"]
    assert body.startswith('{"error":"always 422"')
    assert len(body) <= 1001


async def test_a_template_that_fails_on_one_item_sends_only_that_item_to_the_error_port(server: str) -> None:
    node = api(server, endpoint="/echo/{{ item.supplier.id }}")

    out = await node.run(ctx(), [{"supplier": {"id": 3}}, {"name": "no supplier"}])

    assert [it["response"]["body"]["path"] for it in out["main"]] == ["/echo/3"]
    assert "Cannot build the request" in out["error"][0]["error"]["message"]


async def test_a_missing_response_path_is_reported_on_the_item(server: str) -> None:
    out = await api(server, endpoint="/echo/x", response_path="data.items").run(ctx(), [{"id": 1}])

    assert out["main"] == []
    assert "has no 'data.items'" in out["error"][0]["error"]["message"]


# -------------------------------------------------------------------------- templates
async def test_templates_fill_the_url_query_headers_and_body(server: str) -> None:
    node = api(server, endpoint="/echo/suppliers/{{ item.id }}", method="PUT",
               query={"quarter": "{{ trigger.quarter }}", "tags": ["a", "b"], "empty": "",
                      "final": True},
               headers={"X-Supplier": "{{ item.name }}"},
               body_mapping={"supplierId": "{{ item.id }}", "total": "{{ item.scope1 + item.scope2 }}",
                             "unit": "tCO2e", "lines": ["{{ item.name }}"]})

    out = await node.run(ctx(), [{"id": 7, "name": "Acme", "scope1": 2, "scope2": 3.5}])

    seen = out["main"][0]["response"]["body"]
    assert seen["method"] == "PUT"
    assert seen["path"] == "/echo/suppliers/7"
    assert seen["query"] == {"quarter": "2025-Q1", "tags": "b", "final": "true"}
    assert peer.requests[0]["headers"]["x-supplier"] == "Acme"
    assert seen["body"] == {"supplierId": 7, "total": 5.5, "unit": "tCO2e", "lines": ["Acme"]}
    assert peer.requests[0]["headers"]["content-type"] == "application/json"


async def test_without_a_body_mapping_a_post_sends_the_item_and_a_get_sends_nothing(server: str) -> None:
    item = {"id": 1, "co2": 12.5, "nested": {"ok": True}}

    await api(server, method="POST").run(ctx(), [item])
    await api(server, method="GET").run(ctx(), [item])

    assert [(r["method"], r["body"]) for r in peer.requests] == [("POST", item), ("GET", None)]


async def test_one_call_for_all_items_sends_them_as_items_with_the_activation_key(server: str) -> None:
    items = [{"id": 1}, {"id": 2}]

    out = await api(server, per_item=False).run(ctx(), items)

    assert len(peer.requests) == 1
    assert peer.requests[0]["body"] == {"items": items}
    assert peer.requests[0]["headers"]["idempotency-key"] == "run-7/api/0"
    assert out["main"][0]["response"]["status"] == 200


async def test_one_call_for_all_items_renders_the_body_with_items_in_scope(server: str) -> None:
    node = api(server, per_item=False,
               body_mapping={"count": "{{ items | length }}", "ids": "{{ items | map(attribute='id') | list }}"})

    await node.run(ctx(), [{"id": 1}, {"id": 2}, {"id": 3}])

    assert peer.requests[0]["body"] == {"count": 3, "ids": [1, 2, 3]}


async def test_a_4xx_in_one_call_for_all_items_sends_every_item_to_the_error_port(server: str) -> None:
    out = await api(server, endpoint="/always/400", per_item=False).run(ctx(), [{"id": 1}, {"id": 2}])

    assert out["main"] == []
    assert [(it["id"], it["error"]["status"]) for it in out["error"]] == [(1, 400), (2, 400)]


async def test_no_idempotency_header_when_it_is_turned_off(server: str) -> None:
    await api(server, idempotency_header=None).run(ctx(), [{"id": 1}])

    assert "idempotency-key" not in peer.requests[0]["headers"]


# ------------------------------------------------------------------------------- auth
async def test_basic_auth_header_is_sent(server: str) -> None:
    await api(server, auth={"type": "basic", "username": "collector", "password": "{{ vars.pw }}"}).run(
        _ctx_with_vars(pw="s3cret"), [{"id": 1}])

    expected = "Basic " + base64.b64encode(b"collector:s3cret").decode()
    assert peer.requests[0]["headers"]["authorization"] == expected


async def test_bearer_token_from_a_variable_is_sent(server: str) -> None:
    await api(server, auth={"type": "bearer", "token": "{{ vars.token }}"}).run(
        _ctx_with_vars(token="tok-123"), [{"id": 1}])

    assert peer.requests[0]["headers"]["authorization"] == "Bearer tok-123"


async def test_an_api_key_goes_in_a_header_or_in_the_query(server: str) -> None:
    await api(server, auth={"type": "api_key", "name": "X-Api-Token", "value": "k-1"}).run(ctx(), [{"id": 1}])
    await api(server, auth={"type": "api_key", "name": "api_key", "value": "k-2", "in": "query"}).run(
        ctx(), [{"id": 1}])

    assert peer.requests[0]["headers"]["x-api-token"] == "k-1"
    assert peer.requests[1]["query"] == {"api_key": "k-2"}


async def test_an_api_key_in_the_query_is_masked_in_errors(server: str) -> None:
    node = api(server, endpoint="/always/403", auth={"type": "api_key", "name": "api_key",
                                                      "value": "very-secret", "in": "query"})
    c = ctx()

    out = await node.run(c, [{"id": 1}])

    message = out["error"][0]["error"]["message"]
    assert "api_key=***" in message
    assert "very-secret" not in json.dumps(out) + " ".join(c.logs)


def _ctx_with_vars(**values: Any):
    c = ctx()
    c.scope["vars"] = values
    return c


# ------------------------------------------------------------------------- pagination
async def test_page_numbers_are_followed_until_an_empty_page(server: str) -> None:
    node = api(server, endpoint="/pages", method="GET", response_path="data.items",
               pagination={"type": "page", "param": "page"})

    out = await node.run(ctx(), [{}])

    assert out["main"] == ALL_RECORDS
    assert [r["query"]["page"] for r in peer.requests] == ["1", "2", "3", "4"]


async def test_max_pages_stops_the_pagination(server: str) -> None:
    node = api(server, endpoint="/pages", method="GET", response_path="data.items",
               pagination={"type": "page", "max_pages": 2})

    out = await node.run(ctx(), [{}])

    assert [r["id"] for r in out["main"]] == [1, 2, 3, 4]
    assert len(peer.requests) == 2


async def test_next_urls_in_the_answer_are_followed(server: str) -> None:
    node = api(server, endpoint="/cursor", method="GET", response_path="data",
               pagination={"type": "next_url", "path": "links.next"})

    out = await node.run(ctx(), [{}])

    assert out["main"] == ALL_RECORDS
    assert [r["query"].get("after") for r in peer.requests] == [None, "2", "4"]


async def test_the_link_header_is_followed(server: str) -> None:
    node = api(server, endpoint="/linked", method="GET", pagination={"type": "link_header"})

    out = await node.run(ctx(), [{"id": 1}])

    assert out["main"][0]["response"] == {"status": 200, "body": ALL_RECORDS}
    assert len(peer.requests) == 3


async def test_records_that_are_not_objects_become_value_items(server: str) -> None:
    out = await api(server, endpoint="/echo/x", method="GET", response_path="path").run(ctx(), [{}])

    assert out["main"] == [{"value": "/echo/x"}]


# ------------------------------------------------------------------------ concurrency
async def test_calls_run_in_parallel_up_to_the_concurrency(server: str) -> None:
    node = api(server, endpoint="/slow?s=0.05", concurrency=3)

    out = await node.run(ctx(), [{"n": n} for n in range(9)])

    assert [it["n"] for it in out["main"]] == list(range(9))  # the order of the items is kept
    assert peer.max_in_flight == 3


# ------------------------------------------------------------------------------ config
def test_pagination_needs_get() -> None:
    with pytest.raises(ValidationError) as info:
        APICall.Config.model_validate({"endpoint": "https://x.test/a", "method": "POST",
                                       "pagination": {"type": "page"}})
    assert "pagination works with GET only" in str(info.value)


def test_an_endpoint_that_is_no_url_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        APICall.Config.model_validate({"endpoint": "api.example.com/x"})
    assert "http:// or https://" in str(info.value)


def test_the_config_schema_documents_every_field() -> None:
    schema = APICall.config_schema()

    assert all(p.get("description") for p in schema["properties"].values())
    for definition in schema["$defs"].values():
        assert all(p.get("description") for p in definition["properties"].values()), definition["title"]
    assert APICall.spec()["ports"] == ["main", "error"]
    with pytest.raises(ValidationError):
        APICall.Config.model_validate({"endpoint": "https://x.test", "retries": 3})


def test_a_template_that_does_not_parse_is_reported_at_save_time() -> None:
    node = make_node(APICall, {"endpoint": "https://x.test/{{ item.id", "headers": {"A": "{{ }}"}})

    problems = node.check()

    assert any(p.startswith("endpoint") for p in problems)
    assert any(p.startswith("headers.A") for p in problems)


# ------------------------------------------------------------------------ the helpers
def test_retry_after_may_be_seconds_or_a_date() -> None:
    now = datetime(2025, 4, 1, 12, 0, tzinfo=UTC)

    assert http.parse_retry_after("3") == 3.0
    assert http.parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert http.parse_retry_after("soon") is None
    assert http.parse_retry_after(None) is None


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy = http.RetryPolicy(max_retries=10, backoff=1.0, max_wait=5.0)

    for retry, (low, high) in enumerate([(0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (2.5, 5.0), (2.5, 5.0)]):
        assert all(low <= policy.backoff_delay(retry) <= high for _ in range(50))


def test_mask_url_hides_passwords_and_secret_parameters() -> None:
    assert http.mask_url("https://u:pw@api.test/x?api_key=abc&q=1", ["api_key"]) == \
        "https://u:***@api.test/x?api_key=***&q=1"


async def test_the_request_log_does_not_show_an_api_key(server: str, caplog: pytest.LogCaptureFixture) -> None:
    node = api(server, auth={"type": "api_key", "name": "access_code", "value": "very-secret", "in": "query"})

    with caplog.at_level("INFO", logger="httpx"):
        await node.run(ctx(), [{"id": 1}])

    assert "access_code=***" in caplog.text
    assert "very-secret" not in caplog.text
