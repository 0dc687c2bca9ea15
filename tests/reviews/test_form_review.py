"""A form with review on: every submitted response goes into its review queue by itself, with
no workflow; the decision sets the response's status, a request for changes reopens the link
and the resubmission comes back to the same reviewer; a response the listener missed is swept
up; a workflow's Review step on the same form takes the item over; bad settings are refused."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.conftest import Api
from tests.api.test_reviews import team, until
from tests.engine.helpers import node, wf
from tests.reviews.helpers import settled

FORM = {
    "name": "quarterly_figures", "version": 1, "title": "Quarterly figures",
    "pages": [{"id": "p1", "fields": [
        {"id": "company", "type": "text", "label": "Company", "required": True},
        {"id": "co2_t", "type": "number", "label": "CO2 (t)", "required": True}]}],
    "settings": {"review": {"team": "Sustainability", "assign": "round_robin", "sla": "2d",
                            "title": "{{ item.company }}", "four_eyes_if": "item.co2_t > 1000",
                            "priority": "item.co2_t > 5000 and 'high' or 'normal'"}},
}


async def send(api: Api, email: str) -> str:
    r = await api.post("/api/forms/quarterly_figures_v1/send", json={
        "delivery": "portal", "recipients": [{"email": email, "name": email.split("@")[0]}]})
    assert r.status_code == 201, r.text
    return str(r.json()["links"][0]["url"].rsplit("/", 1)[1])


async def submit(api: Api, token: str, **answers: Any) -> str:
    r = await api.client.post(f"/api/public/forms/{token}/submit", json={"answers": answers})
    assert r.status_code == 200, r.text
    return str(r.json()["response_id"])


async def items_of(api: Api, response_id: str) -> list[dict[str, Any]]:
    return list((await api.get(f"/api/reviews/items?response_id={response_id}")).json()["data"])


async def setup(api: Api) -> None:
    await team(api, "Sustainability", "reviewer@example.com")
    r = await api.post("/api/forms", json=FORM)
    assert r.status_code == 201, r.text


async def test_a_submitted_response_is_queued_for_review_without_a_workflow(api: Api) -> None:
    await setup(api)
    token = await send(api, "jana@acme.example")
    rid = await submit(api, token, company="Acme Steel", co2_t=9000)

    [item] = await items_of(api, rid)
    assert (item["source"], item["queue"], item["title"]) == ("form", "form:quarterly_figures", "Acme Steel")
    assert (item["status"], item["assignee"], item["priority"]) == ("pending", "reviewer@example.com", 2)
    assert item["approvals_required"] == 2 and item["due_at"] is not None and item["workflow_id"] is None

    # changes requested: the link reopens with the comment; the new answer comes back to the same reviewer
    r = await api.post(f"/api/reviews/items/{item['id']}/request-changes", role="reviewer",
                       json={"comments": {"co2_t": "Is this in kg?"}})
    assert r.status_code == 200, r.text
    page = (await api.client.get(f"/api/public/forms/{token}")).json()
    assert page["comments"] == {"co2_t": "Is this in kg?"}
    assert await submit(api, token, company="Acme Steel", co2_t=900) == rid
    back = await until(lambda: _status(api, rid, "pending"))
    assert back["id"] == item["id"] and back["round"] == 2 and back["assignee"] == "reviewer@example.com"

    r = await api.post(f"/api/reviews/items/{item['id']}/approve", role="reviewer", json={})
    assert r.json()["outcome"] == "first_approval"  # four eyes was decided when the item was queued
    r = await api.post(f"/api/reviews/items/{item['id']}/approve", role="admin", json={})
    assert r.json()["outcome"] == "approved"
    assert (await api.get(f"/api/responses/{rid}")).json()["status"] == "approved"
    assert len(await items_of(api, rid)) == 1


async def _status(api: Api, rid: str, status: str) -> Any:
    found = await items_of(api, rid)
    return found[0] if found and found[0]["status"] == status else None


async def test_a_response_the_listener_missed_is_swept_into_the_queue_once(api: Api) -> None:
    await setup(api)
    reviews = api.platform.services.extra["reviews"]
    api.platform.services.forms.submit_listeners.remove(reviews.on_form_submitted)  # the process died
    rid = await submit(api, await send(api, "piotr@plastics.example"), company="Plastics", co2_t=10)
    assert await items_of(api, rid) == []

    assert await asyncio.to_thread(reviews.sweep_form_reviews) == 1  # what the reviews tick does
    [item] = await items_of(api, rid)
    assert item["source"] == "form" and item["approvals_required"] == 1
    assert await asyncio.to_thread(reviews.sweep_form_reviews) == 0


async def test_a_workflows_review_step_on_the_same_form_takes_the_item_over(api: Api) -> None:
    await setup(api)
    r = await api.post("/api/workflows", role="builder", json=wf("figures", [
        node("answer", "FormTrigger", form_id="quarterly_figures"),
        node("review", "Review", team="Sustainability"),
        node("sap", "TestCollect", tag="sap")], [("answer", "review"), ("review", "sap", "approved")]))
    assert r.status_code == 201, r.text
    rid = await submit(api, await send(api, "li@chem.example"), company="Li Chemicals", co2_t=40)

    item = await until(lambda: _bound(api, rid))
    assert len(await items_of(api, rid)) == 1 and item["waiting"]
    await settled(api.platform, item["run_id"], "waiting")
    r = await api.post(f"/api/reviews/items/{item['id']}/approve", role="reviewer", json={})
    assert r.json()["outcome"] == "approved"
    await settled(api.platform, item["run_id"])
    assert (await api.get(f"/api/runs/{item['run_id']}")).json()["status"] == "completed"


async def _bound(api: Api, rid: str) -> Any:
    found = await items_of(api, rid)
    return found[0] if found and found[0]["workflow_id"] == "figures" else None


async def test_review_settings_that_cannot_work_are_refused_when_the_form_is_saved(api: Api) -> None:
    bad = {**FORM, "name": "bad_review", "settings": {"review": {"assign": "least_loaded"}}}
    r = await api.post("/api/forms", json=bad)
    assert r.status_code == 422
    assert "needs a team" in r.text
    bad["settings"] = {"review": {"team": "T", "four_eyes_if": "item.co2_t >"}}
    r = await api.post("/api/forms", json=bad)
    assert r.status_code == 422 and "four_eyes_if" in r.text
