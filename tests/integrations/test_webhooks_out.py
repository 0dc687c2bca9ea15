"""Outgoing webhooks with a real receiver on loopback that checks the HMAC signature itself:
run events, submitted responses, retries with backoff, a delivery log, redelivery, filters."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response

from tests.api.conftest import Api
from tests.conftest import free_port
from tests.engine.helpers import node, wf
from tests.integrations.servers import ServedApp, serve


class Receiver:
    """Answers ``fail`` times with 500 (then 200) and keeps what came, with the signature
    checked against ``secret`` (set once the subscription is made)."""

    def __init__(self) -> None:
        self.secret = ""
        self.fail = 0
        self.got: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        body = await request.body()
        stamp = request.headers.get("x-datacollect-timestamp", "")
        expected = "sha256=" + hmac.new(self.secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        self.got.append({"body": json.loads(body), "event": request.headers.get("x-datacollect-event"),
                         "delivery": request.headers.get("x-datacollect-delivery"),
                         "signed": hmac.compare_digest(expected, request.headers.get("x-datacollect-signature", "")),
                         "fresh": abs(time.time() - int(stamp or 0)) < 60})
        if self.fail:
            self.fail -= 1
            response = Response(b"busy", 500)
        else:
            response = Response(b"", 204)
        await response(scope, receive, send)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, ServedApp]]:
    r = Receiver()
    with serve(r) as server:
        yield r, server


@pytest.fixture
def db_url() -> None:
    return None


async def subscribe(api: Api, url: str, rec: Receiver | None = None, **body: Any) -> dict[str, Any]:
    r = await api.post("/api/webhook-subscriptions", json={"url": url, **body})
    assert r.status_code == 201, r.text
    sub = r.json()
    if rec is not None:
        rec.secret = sub["secret"]
    return sub


async def eventually(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


async def deliveries(api: Api, sub_id: str) -> list[dict[str, Any]]:
    r = await api.get(f"/api/webhook-subscriptions/{sub_id}/deliveries")
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def save_workflows(api: Api) -> None:
    ok = wf("hello", [node("start", "ManualTrigger"), node("calc", "Calculator", formula="item.x + 1",
                                                           output_field="y")], [("start", "calc")])
    bad = wf("broken", [node("start", "ManualTrigger"), node("boom", "TestFlaky", failures=9, retryable=False)],
             [("start", "boom")])
    for d in (ok, bad):
        assert (await api.post("/api/workflows", json=d)).status_code == 201


async def test_finished_runs_are_posted_signed_and_logged(api: Api, receiver) -> None:
    rec, server = receiver
    sub = await subscribe(api, server.url + "/hooks", rec, events=["run.completed", "run.failed"])
    assert len(sub["secret"]) >= 32
    await save_workflows(api)
    done = (await api.post("/api/workflows/hello/run", json={"data": {"x": 1}})).json()
    failed = (await api.post("/api/workflows/broken/run", json={"data": {}})).json()
    assert done["status"] == "completed" and failed["status"] == "failed"
    assert await eventually(lambda: len(rec.got) == 2)
    by_event = {g["event"]: g for g in rec.got}
    assert set(by_event) == {"run.completed", "run.failed"}
    assert all(g["signed"] and g["fresh"] for g in rec.got)
    body = by_event["run.completed"]["body"]
    assert body["event"] == "run.completed" and body["id"] == by_event["run.completed"]["delivery"]
    assert body["data"]["run_id"] == done["id"] and body["data"]["workflow_id"] == "hello"
    assert body["data"]["status"] == "completed"
    err = by_event["run.failed"]["body"]["data"]["error"]
    assert err["node_id"] == "boom" and "failure 1 of 9" in err["message"]
    for _ in range(100):  # the sender records the answers after they came
        rows = await deliveries(api, sub["id"])
        if {r["status"] for r in rows} == {"delivered"}:
            break
        await asyncio.sleep(0.05)
    assert {r["status"] for r in rows} == {"delivered"}
    assert all(r["attempts"] == 1 and r["log"][0]["status"] == 204 for r in rows)


async def test_the_secret_is_shown_once_and_kept_encrypted(api: Api, receiver) -> None:
    rec, server = receiver
    sub = await subscribe(api, server.url, rec, events=["*"])
    assert "secret" not in (await api.get(f"/api/webhook-subscriptions/{sub['id']}")).json()
    listed = await api.get("/api/webhook-subscriptions")
    assert sub["secret"] not in listed.text
    with api.platform.db.engine.connect() as c:
        stored = c.execute(text("SELECT secret FROM webhook_subscriptions")).scalar_one()
    assert sub["secret"] not in stored and stored.startswith("gAAAAA")
    rotated = (await api.patch(f"/api/webhook-subscriptions/{sub['id']}", json={"rotate_secret": True})).json()
    assert rotated["secret"] and rotated["secret"] != sub["secret"]
    rec.secret = rotated["secret"]
    r = await api.post(f"/api/webhook-subscriptions/{sub['id']}/ping")
    assert r.status_code == 202 and r.json()["event"] == "ping"
    assert await eventually(lambda: rec.got)
    assert rec.got[0]["signed"] and rec.got[0]["event"] == "ping"


async def test_a_failing_receiver_gets_the_same_delivery_again_with_backoff(api: Api, receiver) -> None:
    rec, server = receiver
    hub = api.platform.services.extra["integrations"].webhooks
    hub.backoff = 0.05
    rec.fail = 2
    sub = await subscribe(api, server.url, rec, events=["run.completed"])
    await save_workflows(api)
    await api.post("/api/workflows/hello/run", json={"data": {"x": 1}})
    assert await eventually(lambda: len(rec.got) == 3)
    assert len({g["delivery"] for g in rec.got}) == 1  # one delivery, three attempts
    for _ in range(50):
        [row] = await deliveries(api, sub["id"])
        if row["status"] == "delivered":
            break
        await asyncio.sleep(0.05)
    assert row["status"] == "delivered" and row["attempts"] == 3
    assert [e["status"] for e in row["log"]] == [500, 500, 204]
    assert row["log"][0]["error"] == "answered 500 Internal Server Error"


async def test_a_delivery_that_keeps_failing_is_marked_failed_and_can_be_sent_again(api: Api) -> None:
    hub = api.platform.services.extra["integrations"].webhooks
    hub.backoff, hub.max_attempts = 0.02, 3
    port = free_port()
    rec = Receiver()
    sub = await subscribe(api, f"http://127.0.0.1:{port}/in", rec, events=["run.completed"])
    await save_workflows(api)
    await api.post("/api/workflows/hello/run", json={"data": {"x": 1}})

    async def status() -> dict[str, Any]:
        return (await deliveries(api, sub["id"]))[0]

    for _ in range(100):
        row = await status()
        if row["status"] == "failed":
            break
        await asyncio.sleep(0.05)
    assert row["status"] == "failed" and row["attempts"] == 3
    assert "Nothing answers at" in row["last_error"]
    with serve(rec, port=port):
        r = await api.post(f"/api/webhook-subscriptions/{sub['id']}/deliveries/{row['id']}/redeliver")
        assert r.status_code == 200 and r.json()["status"] == "pending"
        assert await eventually(lambda: rec.got)
    assert rec.got[0]["signed"] and rec.got[0]["delivery"] == row["id"]


async def test_a_submitted_response_is_an_event(api: Api, receiver) -> None:
    from datacollect.forms.responses import create_response

    rec, server = receiver
    await subscribe(api, server.url, rec, events=["response.submitted"])
    with api.platform.db.write() as s:
        resp = create_response(s, form_key="supplier_emissions_v2", form_name="supplier_emissions",
                               form_version="v2", answers={"co2": 12}, actor="respondent:anna@supplier.example",
                               recipient={"email": "anna@supplier.example"})
        resp_id = resp.id
    assert await eventually(lambda: rec.got)
    body = rec.got[0]["body"]
    assert rec.got[0]["event"] == "response.submitted" and rec.got[0]["signed"]
    assert body["data"]["response_id"] == resp_id and body["data"]["form"]["key"] == "supplier_emissions_v2"
    assert body["data"]["recipient_email"] == "anna@supplier.example"
    assert "answers" not in body["data"]  # receivers read answers through the API, with their own key
    await asyncio.sleep(0.3)
    assert len(rec.got) == 1  # scanned again, not sent again


async def test_events_are_filtered_by_workflow_and_published_once_per_key(api: Api, receiver) -> None:
    rec, server = receiver
    await subscribe(api, server.url, rec, events=["run.completed", "run.failed", "review.decided"],
                    workflow_id="broken")
    await save_workflows(api)
    await api.post("/api/workflows/hello/run", json={"data": {"x": 1}})
    await api.post("/api/workflows/broken/run", json={"data": {}})
    hub = api.platform.services.extra["integrations"].webhooks
    data = {"review_id": "r1", "decision": "approve", "by": "reviewer@example.com"}
    assert hub.publish("review.decided", data, "review.decided:r1:1", workflow_id="broken") == 1
    assert hub.publish("review.decided", data, "review.decided:r1:1", workflow_id="broken") == 0
    assert await eventually(lambda: len(rec.got) == 2)
    await asyncio.sleep(0.3)
    assert sorted(g["event"] for g in rec.got) == ["review.decided", "run.failed"]


async def test_bad_subscriptions_are_refused_and_viewers_cannot_see_them(api: Api) -> None:
    r = await api.post("/api/webhook-subscriptions", json={"url": "ftp://x.example/in", "events": ["run.completed"]})
    assert r.status_code == 400
    r = await api.post("/api/webhook-subscriptions", json={"url": "https://x.example/in", "events": ["run.exploded"]})
    assert r.status_code == 400 and "run.exploded" in r.json()["error"]["message"]
    assert (await api.get("/api/webhook-subscriptions", role="viewer")).status_code == 403
    assert (await api.post("/api/webhook-subscriptions", role="reviewer",
                           json={"url": "https://x.example", "events": ["*"]})).status_code == 403
    sub = await subscribe(api, "https://x.example/in", events=["*"], active=False)
    r = await api.post(f"/api/webhook-subscriptions/{sub['id']}/ping")
    assert r.status_code == 409
    assert (await api.delete(f"/api/webhook-subscriptions/{sub['id']}")).status_code == 204


async def test_old_deliveries_are_pruned_and_pending_ones_kept(api: Api, receiver) -> None:
    from datetime import timedelta

    rec, server = receiver
    sub = await subscribe(api, server.url, rec, events=["review.decided"])
    hub = api.platform.services.extra["integrations"].webhooks
    hub.publish("review.decided", {"review_id": "r1"}, "review.decided:r1:1")
    assert await eventually(lambda: rec.got)
    for _ in range(50):
        if (await deliveries(api, sub["id"]))[0]["status"] == "delivered":
            break
        await asyncio.sleep(0.05)
    hub.backoff = 3600
    rec.fail = 10
    hub.publish("review.decided", {"review_id": "r2"}, "review.decided:r2:1")
    assert await eventually(lambda: len(rec.got) == 2)
    assert hub.prune(older_than=timedelta(seconds=-1)) == 1  # the delivered one; the pending one stays
    [left] = await deliveries(api, sub["id"])
    assert left["payload"]["data"]["review_id"] == "r2" and left["status"] == "pending"


async def test_a_review_decision_is_an_event(api: Api, receiver) -> None:
    from datetime import UTC, datetime

    from datacollect.reviews.models import ReviewItem

    rec, server = receiver
    await subscribe(api, server.url, rec, events=["review.decided"])
    now = datetime.now(UTC)
    with api.platform.db.write() as s:
        s.add(ReviewItem(id="item-1", queue="emissions", status="approved", source="api", title="S-100 Q1",
                         data={"co2_t": 12.5}, decision="approved", decided_by="reviewer@example.com",
                         decided_at=now, reason="plausible", round=1, created_at=now, updated_at=now))
        s.add(ReviewItem(id="item-2", queue="emissions", status="pending", source="api", data={}, created_at=now,
                         updated_at=now))  # not decided: no event
    assert await eventually(lambda: rec.got)
    await asyncio.sleep(0.3)
    [got] = rec.got
    assert got["event"] == "review.decided" and got["signed"]
    data = got["body"]["data"]
    assert (data["review_item_id"], data["decision"], data["decided_by"], data["reason"]) == (
        "item-1", "approved", "reviewer@example.com", "plausible")


async def test_a_run_event_lost_between_the_commit_and_the_hook_is_read_back_from_the_runs(api: Api, receiver) -> None:
    rec, server = receiver
    await subscribe(api, server.url + "/hooks", rec, events=["run.completed"])
    await save_workflows(api)
    hub = api.platform.services.extra["integrations"].webhooks
    # the process dies right after the run's commit: its hook never publishes
    api.platform.runner.on_run_settled.remove(hub.on_run_settled)
    done = (await api.post("/api/workflows/hello/run", json={"data": {"x": 1}})).json()
    assert done["status"] == "completed"
    await asyncio.sleep(0.3)
    assert rec.got == []

    assert await asyncio.to_thread(hub.scan_runs) == 1  # what the scheduler's tick does every few seconds
    assert await eventually(lambda: len(rec.got) == 1)
    assert rec.got[0]["event"] == "run.completed" and rec.got[0]["body"]["data"]["run_id"] == done["id"]
    # the hook and the scan write one delivery per run, whoever comes first
    api.platform.runner.on_run_settled.append(hub.on_run_settled)
    again = (await api.post("/api/workflows/hello/run", json={"data": {"x": 2}})).json()
    assert await eventually(lambda: len(rec.got) == 2)
    assert await asyncio.to_thread(hub.scan_runs) == 0
    await asyncio.sleep(0.3)
    assert [g["body"]["data"]["run_id"] for g in rec.got] == [done["id"], again["id"]]
