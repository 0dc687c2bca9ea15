"""The reviews API: roles and team scoping, the request-changes loop completed through the
public form, the detail side by side, edits as new response revisions, bulk decisions, the
trail refused to be changed, and metrics."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from typing import Any

from tests.api.conftest import Api
from tests.engine.helpers import Collect, run_row
from tests.forms.helpers import example_form, good_answers
from tests.reviews.helpers import put, settled


async def until(fn: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = await fn()
        if got:
            return got
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def team(api: Api, name: str, *members: str) -> dict[str, Any]:
    r = await api.post("/api/teams", json={"name": name})
    assert r.status_code == 201, r.text
    for m in members:
        r = await api.put(f"/api/teams/{name}/members/{m}", json={"role": "member"})
        assert r.status_code == 200, r.text
    return r.json()


async def item(api: Api, **body: Any) -> str:
    r = await api.post("/api/reviews/items", role="builder", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def seen(run_id: str, node_id: str) -> list[dict[str, Any]]:
    return [s for s in Collect.SEEN.get(run_id, []) if s["key"].split("/")[1] == node_id]


# -- roles ---------------------------------------------------------------------------------
async def test_a_viewer_cannot_decide_and_a_reviewer_sees_only_their_teams_queues(api: Api) -> None:
    await team(api, "Sustainability", "reviewer@example.com", "viewer@example.com")
    await team(api, "Finance")
    ours = await item(api, team="Sustainability", title="Acme", data={"co2_t": 10})
    theirs = await item(api, team="Finance", title="Globex", data={"price": 3})

    listed = (await api.get("/api/reviews/items", role="reviewer")).json()
    assert [i["id"] for i in listed["data"]] == [ours] and listed["count"] == 1
    assert [i["id"] for i in (await api.get("/api/reviews/items", role="viewer")).json()["data"]] == [ours]
    assert {i["id"] for i in (await api.get("/api/reviews/items")).json()["data"]} == {ours, theirs}
    queues = (await api.get("/api/reviews/queues", role="reviewer")).json()["data"]
    assert [q["team"] for q in queues] == ["Sustainability"]
    assert [t["name"] for t in (await api.get("/api/teams", role="reviewer")).json()["data"]] == ["Sustainability"]

    for path in (f"/api/reviews/items/{theirs}", f"/api/reviews/items/{theirs}/trail"):
        r = await api.get(path, role="reviewer")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await api.post(f"/api/reviews/items/{theirs}/approve", role="reviewer", json={})
    assert r.status_code == 404

    for path, body in ((f"/api/reviews/items/{ours}/approve", {}), (f"/api/reviews/items/{ours}/claim", None),
                       (f"/api/reviews/items/{ours}/reject", {"reason": "no"}),
                       (f"/api/reviews/items/{ours}/request-changes", {"comments": {"co2_t": "unit?"}}),
                       ("/api/reviews/bulk", {"action": "approve", "filter": {}}),
                       (f"/api/reviews/items/{ours}/comments", {"body": "hm"})):
        r = await api.post(path, role="viewer", json=body)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", (path, r.text)
    assert (await api.get(f"/api/reviews/items/{ours}", role="viewer")).json()["actions"] == []
    for role in ("viewer", "reviewer"):
        assert (await api.post("/api/teams", role=role, json={"name": "Mine"})).status_code == 403
        assert (await api.get("/api/reviews/trail", role=role)).status_code == 403
    assert (await api.post("/api/reviews/items", role="viewer", json={"data": {}})).status_code == 403

    detail = (await api.get(f"/api/reviews/items/{ours}", role="reviewer")).json()
    assert {"claim", "approve", "reject", "request_changes", "edit"} <= set(detail["actions"])
    r = await api.post(f"/api/reviews/items/{ours}/approve", role="reviewer", json={"reason": "ok"})
    assert r.status_code == 200 and r.json()["item"]["status"] == "approved"
    r = await api.post(f"/api/reviews/items/{ours}/reject", role="reviewer", json={"reason": "too late"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"


async def test_claims_conflict_and_claim_next_takes_the_most_urgent(api: Api) -> None:
    await team(api, "Sustainability", "reviewer@example.com", "admin@example.com")
    normal = await item(api, team="Sustainability", title="normal")
    urgent = await item(api, team="Sustainability", title="urgent", priority="urgent")
    r = await api.post("/api/reviews/claim-next", role="reviewer")
    assert r.status_code == 200 and r.json()["item"]["id"] == urgent
    r = await api.post(f"/api/reviews/items/{urgent}/claim")
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_taken"
    r = await api.post(f"/api/reviews/items/{urgent}/approve", role="admin", json={})
    assert r.status_code == 200  # an admin may decide an item someone has
    r = await api.post("/api/reviews/claim-next", role="reviewer")
    assert r.json()["item"]["id"] == normal
    assert (await api.post("/api/reviews/claim-next", role="reviewer")).status_code == 204
    r = await api.post(f"/api/reviews/items/{normal}/unclaim", role="reviewer", json={"reason": "lunch"})
    assert r.json()["item"]["assignee_id"] is None and r.json()["item"]["status"] == "pending"


async def test_four_eyes_through_the_api(api: Api) -> None:
    await team(api, "Sustainability", "reviewer@example.com", "admin@example.com")
    iid = await item(api, team="Sustainability", four_eyes=True, data={"co2_t": 5000})
    r = await api.post(f"/api/reviews/items/{iid}/approve", role="reviewer", json={})
    assert r.json()["outcome"] == "first_approval" and r.json()["item"]["status"] == "pending"
    r = await api.post(f"/api/reviews/items/{iid}/approve", role="reviewer", json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "four_eyes"
    listed = (await api.get("/api/reviews/items?awaiting_second=true")).json()
    assert [i["id"] for i in listed["data"]] == [iid]
    r = await api.post(f"/api/reviews/items/{iid}/approve", json={})
    assert r.json()["outcome"] == "approved" and r.json()["item"]["first_approver"] == "reviewer@example.com"


# -- the request-changes loop through the public form ---------------------------------------
def form_flow(wid: str, on_changes: str) -> dict[str, Any]:
    return {"id": wid, "name": wid, "nodes": [
        {"id": "answer", "type": "FormTrigger", "config": {"form_id": "supplier_emissions_v2"}},
        {"id": "review", "type": "Review", "config": {
            "team": "Sustainability", "assign": "round_robin", "title": "{{ item.company_name }}",
            "on_changes_requested": on_changes, "four_eyes_if": "item.total_emissions > 100000"}},
        {"id": "sap", "type": "TestCollect", "config": {"tag": "sap"}},
        {"id": "no", "type": "TestCollect", "config": {"tag": "no"}},
        {"id": "tell", "type": "TestCollect", "config": {"tag": "tell"}}],
        "edges": [{"from": "answer", "to": "review"}, {"from": "review", "to": "sap", "condition": "approved"},
                  {"from": "review", "to": "no", "condition": "rejected"},
                  {"from": "review", "to": "tell", "condition": "changes_requested"}]}


async def send_form(api: Api, email: str = "jana@acme.example") -> str:
    if (await api.get("/api/forms/supplier_emissions_v2")).status_code == 404:
        assert (await api.post("/api/forms", json=example_form())).status_code == 201
    r = await api.post("/api/forms/supplier_emissions_v2/send", json={
        "delivery": "portal", "recipients": [{"name": "Jana", "email": email, "company": "Acme"}]})
    assert r.status_code == 201, r.text
    return str(r.json()["links"][0]["url"].rsplit("/", 1)[1])


async def submit(api: Api, token: str, **answers: Any) -> str:
    r = await api.client.post(f"/api/public/forms/{token}/submit", json={"answers": good_answers(**answers)})
    assert r.status_code == 200, r.text
    return str(r.json()["response_id"])


async def review_of(api: Api, response_id: str, **expect: Any) -> dict[str, Any]:
    async def find() -> Any:
        data = (await api.get(f"/api/reviews/items?response_id={response_id}")).json()["data"]
        return data[0] if data and all(data[0][k] == v for k, v in expect.items()) else None

    return dict(await until(find))


async def test_request_changes_loop_through_the_public_form_back_to_the_same_reviewer(api: Api) -> None:
    await team(api, "Sustainability", "reviewer@example.com")
    r = await api.post("/api/workflows", role="builder", json=form_flow("emissions-review", "wait"))
    assert r.status_code == 201, r.text
    token = await send_form(api)
    rid = await submit(api, token)
    first = await review_of(api, rid)
    assert (first["title"], first["assignee"], first["status"]) == ("Acme Steel GmbH", "reviewer@example.com",
                                                                     "pending")
    run_id = first["run_id"]
    await settled(api.platform, run_id, "waiting")

    r = await api.post(f"/api/reviews/items/{first['id']}/request-changes", role="reviewer", json={
        "comments": {"scope_1": "Please include the second plant"}, "message": "Almost there"})
    assert r.status_code == 200, r.text
    assert r.json()["item"]["status"] == "changes_requested"
    page = (await api.client.get(f"/api/public/forms/{token}")).json()
    assert page["link"]["state"] == "changes_requested"
    assert page["comments"] == {"scope_1": "Please include the second plant", "_general": "Almost there"}
    assert page["answers_from"] == "response" and page["answers"]["scope_1"] == 1200.5
    tell = await until(lambda: asyncio.sleep(0, seen(run_id, "tell")))
    assert tell[0]["items"][0]["_review"]["comments"]["scope_1"] == "Please include the second plant"
    assert run_row(api.platform, run_id)["status"] == "waiting"

    assert await submit(api, token, scope_1=1500.5, total_emissions=2300.5) == rid
    back = await review_of(api, rid, status="pending", round=2)
    assert back["id"] == first["id"] and back["assignee"] == "reviewer@example.com"
    detail = (await api.get(f"/api/reviews/items/{first['id']}", role="reviewer")).json()
    row = next(f for f in detail["fields"] if f["field"] == "scope_1")
    assert (row["value"], row["previous"], row["changed"], row["label"]) == (1500.5, 1200.5, True, "Scope 1 emissions")
    assert detail["response"]["revision"] == 2 and detail["previous"]["values"]["scope_1"] == 1200.5
    assert [e["action"] for e in detail["trail"]][-2:] == ["changes_requested", "resubmitted"]

    r = await api.post(f"/api/reviews/items/{first['id']}/approve", role="reviewer", json={"reason": "ok now"})
    assert r.json()["outcome"] == "approved"
    await settled(api.platform, run_id)
    [sap] = seen(run_id, "sap")
    assert sap["items"][0]["scope_1"] == 1500.5 and sap["items"][0]["_review"]["decision"] == "approved"
    resp = (await api.get(f"/api/responses/{rid}")).json()
    assert resp["status"] == "approved" and resp["revision"] == 2
    assert (await api.client.get(f"/api/public/forms/{token}")).json()["error"]["code"] == "link_used"
    # the resubmission also started a run of its own: it did not queue the response twice
    runs = (await api.get("/api/runs?workflow_id=emissions-review")).json()["data"]
    assert len(runs) == 2 and all(r["status"] == "completed" for r in runs)
    assert (await api.get(f"/api/reviews/items?response_id={rid}")).json()["count"] == 1


async def test_with_continue_the_resubmission_comes_back_through_the_trigger(api: Api) -> None:
    await team(api, "Sustainability", "reviewer@example.com", "admin@example.com")
    r = await api.post("/api/workflows", role="builder", json=form_flow("emissions-continue", "continue"))
    assert r.status_code == 201, r.text
    token = await send_form(api)
    rid = await submit(api, token)
    first = await review_of(api, rid)
    who = "reviewer" if first["assignee"] == "reviewer@example.com" else "admin"
    r = await api.post(f"/api/reviews/items/{first['id']}/request-changes", role=who,
                       json={"comments": {"total_emissions": "Does not match the scopes you gave"}})
    assert r.status_code == 200, r.text
    await settled(api.platform, first["run_id"])
    assert seen(first["run_id"], "tell") and not seen(first["run_id"], "sap")
    await submit(api, token, scope_2=900, total_emissions=2100.5)
    back = await review_of(api, rid, status="pending", round=2)
    assert back["id"] == first["id"] and back["assignee"] == first["assignee"]
    async def taken_over() -> Any:
        now = (await api.get(f"/api/reviews/items?response_id={rid}")).json()["data"][0]
        return now["run_id"] if now["run_id"] != first["run_id"] else None

    second_run = await until(taken_over)
    await settled(api.platform, second_run, "waiting")
    r = await api.post(f"/api/reviews/items/{first['id']}/approve", role=who, json={})
    assert r.json()["outcome"] == "approved"
    await settled(api.platform, second_run)
    [sap] = seen(second_run, "sap")
    assert sap["items"][0]["scope_2"] == 900


async def test_a_response_in_review_changes_status_only_through_its_review(api: Api) -> None:
    await team(api, "Sustainability", "reviewer@example.com")
    r = await api.post("/api/workflows", role="builder", json=form_flow("emissions-from-responses", "wait"))
    assert r.status_code == 201, r.text
    rid = await submit(api, await send_form(api))
    first = await review_of(api, rid)
    await settled(api.platform, first["run_id"], "waiting")

    # someone outside the review's team cannot approve it from the responses page
    r = await api.put(f"/api/responses/{rid}", role="builder", json={"status": "approved"})
    assert r.status_code == 403 and "review queue" in r.json()["error"]["message"]
    r = await api.put(f"/api/responses/{rid}", role="reviewer", json={"status": "submitted"})
    assert r.status_code == 409
    assert (await api.get(f"/api/responses/{rid}")).json()["status"] == "submitted"

    # its reviewer approves it there: that is the review's decision, and the workflow goes on
    r = await api.put(f"/api/responses/{rid}", role="reviewer", json={"status": "approved", "reason": "fine"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    await settled(api.platform, first["run_id"])
    [sap] = seen(first["run_id"], "sap")
    assert sap["items"][0]["_review"]["decision"] == "approved"
    done = (await api.get(f"/api/reviews/items/{first['id']}", role="reviewer")).json()
    assert done["status"] == "approved" and done["trail"][-1]["action"] == "approved"


# -- the detail, edits, masking --------------------------------------------------------------
async def test_detail_puts_last_periods_answer_beside_this_one(api: Api) -> None:
    await team(api, "Sustainability", "reviewer@example.com")
    old = await submit(api, await send_form(api), scope_1=1000, scope_2=800, total_emissions=1800)
    new = await submit(api, await send_form(api), scope_1=1200.5, annual_revenue=5_000_000)
    iid = await item(api, team="Sustainability", response_id=new, issues=[
        {"rule": "outlier_check", "field": "scope_1", "message": "20% above last year"}], score=0.75)
    d = (await api.get(f"/api/reviews/items/{iid}", role="reviewer")).json()
    assert d["last_period"]["response_id"] == old and d["previous"] is None
    row = {f["field"]: f for f in d["fields"]}
    assert (row["scope_1"]["value"], row["scope_1"]["last_period"], row["scope_1"]["delta"]) == (1200.5, 1000, 200.5)
    assert row["scope_1"]["delta_pct"] == 20.05 and row["scope_1"]["issues"] == ["20% above last year"]
    assert row["scope_2"]["changed_since_last_period"] is False
    assert row["annual_revenue"]["value"] == 5_000_000 and d["subject_key"] == "jana@acme.example"
    await api.put("/api/teams/Sustainability/members/viewer@example.com", json={})
    masked = (await api.get(f"/api/reviews/items/{iid}", role="viewer")).json()
    assert {f["field"]: f for f in masked["fields"]}["annual_revenue"]["value"] == "***"
    assert masked["data"]["annual_revenue"] == "***" and masked["response"]["answers"]["annual_revenue"] == "***"


async def test_an_edit_with_a_reason_is_a_new_revision_of_the_response(api: Api) -> None:
    await team(api, "Sustainability", "reviewer@example.com")
    rid = await submit(api, await send_form(api))
    iid = await item(api, team="Sustainability", response_id=rid, data=good_answers())
    r = await api.post(f"/api/reviews/items/{iid}/edit", role="reviewer",
                       json={"values": {"employees": 450}, "reason": "HR headcount on 31 March"})
    assert r.status_code == 200, r.text
    resp = (await api.get(f"/api/responses/{rid}")).json()
    assert resp["revision"] == 2 and resp["answers"]["employees"] == 450
    edit = [c for c in resp["changes"] if c["action"] == "edited"][0]
    assert (edit["before"], edit["after"], edit["reason"]) == ({"employees": 420}, {"employees": 450},
                                                               "HR headcount on 31 March")
    d = (await api.get(f"/api/reviews/items/{iid}", role="reviewer")).json()
    assert d["data"]["employees"] == 450 and d["previous"]["values"]["employees"] == 420
    r = await api.post(f"/api/reviews/items/{iid}/edit", role="reviewer",
                       json={"values": {"employees": "many"}, "reason": "typo"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_answers"
    r = await api.post(f"/api/reviews/items/{iid}/edit", role="reviewer", json={"values": {"employees": 1}})
    assert r.status_code == 422  # no reason
    assert (await api.post(f"/api/reviews/items/{iid}/reject", role="reviewer", json={})).status_code == 422


# -- bulk, the trail, comments, metrics ----------------------------------------------------
async def test_bulk_approve_a_thousand_items_in_one_call(api: Api) -> None:
    await team(api, "Sustainability", "reviewer@example.com")
    put(api.platform, 1000, team="Sustainability", queue="q3-emissions")
    put(api.platform, 5, team="Sustainability", queue="q3-prices")
    r = await api.post("/api/reviews/bulk", role="reviewer", json={
        "action": "approve", "reason": "Sample checked, totals match the ERP", "filter": {"queue": "q3-emissions"}})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["matched"], out["decided"], out["skipped"], len(out["ids"])) == (1000, 1000, [], 1000)
    page = (await api.get("/api/reviews/items?queue=q3-emissions&status=approved&page_size=1")).json()
    assert page["count"] == 1000 and page["counts"]["pending"] == 0
    assert (await api.get("/api/reviews/items?queue=q3-prices&status=pending")).json()["count"] == 5
    trail = (await api.get(f"/api/reviews/trail?batch_id={out['batch_id']}&page_size=1")).json()
    assert trail["count"] == 1000
    r = await api.post("/api/reviews/bulk", role="reviewer", json={"action": "reject", "filter": {}})
    assert r.status_code == 400 and "reason" in r.json()["error"]["message"]


async def test_the_trail_cannot_be_changed_or_deleted_through_the_api_and_exports_as_csv(api: Api) -> None:
    await team(api, "Sustainability", "reviewer@example.com")
    iid = await item(api, team="Sustainability")
    r = await api.post(f"/api/reviews/items/{iid}/comments", role="reviewer", json={"body": "call them",
                                                                                     "field": "co2_t"})
    assert r.status_code == 201 and r.json()["field"] == "co2_t"
    await api.post(f"/api/reviews/items/{iid}/reject", role="reviewer", json={"reason": "wrong period"})
    events = (await api.get(f"/api/reviews/items/{iid}/trail", role="reviewer")).json()["data"]
    assert [e["action"] for e in events] == ["created", "commented", "rejected"]
    for method in ("put", "patch", "delete"):
        for path in (f"/api/reviews/trail/{events[0]['id']}", f"/api/reviews/items/{iid}/trail",
                     f"/api/reviews/items/{iid}/trail/{events[0]['id']}", "/api/reviews/trail"):
            r = await getattr(api, method)(path, **({"json": {"reason": "x"}} if method != "delete" else {}))
            assert r.status_code == 405 and r.json()["error"]["code"] == "append_only", (method, path)
    assert [e["action"] for e in (await api.get(f"/api/reviews/items/{iid}/trail")).json()["data"]] == [
        "created", "commented", "rejected"]
    r = await api.get(f"/api/reviews/trail?format=csv&item_id={iid}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["id", "at", "item_id", "actor", "actor_id", "action"]
    assert [x[5] for x in rows[1:]] == ["created", "commented", "rejected"] and rows[3][8] == "wrong period"


async def test_metrics_answer_per_status_times_and_reviewers(api: Api) -> None:
    await team(api, "Sustainability", "reviewer@example.com")
    a = await item(api, team="Sustainability")
    b = await item(api, team="Sustainability")
    await item(api, team="Sustainability")
    await api.post(f"/api/reviews/items/{a}/approve", role="reviewer", json={})
    await api.post(f"/api/reviews/items/{b}/reject", role="reviewer", json={"reason": "dup"})
    m = (await api.get("/api/reviews/metrics?team=Sustainability", role="reviewer")).json()
    assert m["by_status"]["pending"] == 1 and m["approval_rate"] == 0.5 and m["decided"] == 2
    assert m["time_to_decision"]["count"] == 2 and m["per_reviewer"][0]["reviewer"] == "reviewer@example.com"
