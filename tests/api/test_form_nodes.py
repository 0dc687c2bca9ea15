"""SendForm's ways to go on (each response, all, quorum, deadline), FormTrigger, and
SendEmail's idempotency, on the real platform with a real SMTP server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from datacollect.nodes.send_email import SendEmail
from tests.api.conftest import Api
from tests.engine.helpers import Collect, run_row
from tests.forms.helpers import SmtpServer, example_form, good_answers, settings_fixture, smtp_fixture  # noqa: F401 (fixtures)
from tests.nodes.conftest import make_ctx, make_node


def flow(wid: str, send: dict[str, Any]) -> dict[str, Any]:
    return {"id": wid, "name": wid, "nodes": [
        {"id": "start", "type": "ManualTrigger"},
        {"id": "ask", "type": "SendForm", "config": {"form_id": "supplier_emissions_v2", **send}},
        {"id": "got", "type": "TestCollect"},
        {"id": "summary", "type": "TestCollect", "config": {"tag": "done"}}],
        "edges": [{"from": "start", "to": "ask"}, {"from": "ask", "to": "got"},
                  {"from": "ask", "to": "summary", "condition": "done"}]}


async def start(api: Api, smtp: SmtpServer, wid: str, send: dict[str, Any], data: Any = None,
                mails: int = 0) -> tuple[str, dict[str, str]]:
    if (await api.get("/api/forms/supplier_emissions_v2")).status_code == 404:
        await api.post("/api/forms", json=example_form())
    r = await api.post("/api/workflows", json=flow(wid, send))
    assert r.status_code == 201, r.text
    r = await api.post(f"/api/workflows/{wid}/run", json={"data": data or {}})
    assert r.status_code == 200 and r.json()["status"] == "waiting", r.text
    got = await smtp.wait_for(mails) if mails else []
    return r.json()["id"], {m.rcpt[0]: m.token for m in got}


async def submit(api: Api, token: str, **over: Any) -> None:
    r = await api.client.post(f"/api/public/forms/{token}/submit", json={"answers": good_answers(**over)})
    assert r.status_code == 200, r.text


async def settled(api: Api, run_id: str, status: str = "completed", timeout: float = 10) -> dict[str, Any]:
    for _ in range(int(timeout / 0.05)):
        run = run_row(api.platform, run_id)
        if run["status"] == status:
            return run
        await asyncio.sleep(0.05)
    raise AssertionError(f"run is {run_row(api.platform, run_id)['status']}, not {status}")


def seen(run_id: str, tag: str = "c") -> list[dict[str, Any]]:
    return [s for s in Collect.SEEN.get(run_id, []) if s["key"].split("/")[1] == ("got" if tag == "c" else "summary")]


async def test_all_responses_go_on_together_when_everyone_answered(api: Api, smtp: SmtpServer) -> None:
    run_id, tokens = await start(api, smtp, "all", {"recipients": ["a@x.example", "b@x.example"],
                                                    "continue": "all_responses"}, mails=2)
    await submit(api, tokens["a@x.example"], company_name="A")
    await asyncio.sleep(0.3)
    assert seen(run_id) == [] and run_row(api.platform, run_id)["status"] == "waiting"
    await submit(api, tokens["b@x.example"], company_name="B")
    await settled(api, run_id)
    [batch] = seen(run_id)
    assert sorted(i["company_name"] for i in batch["items"]) == ["A", "B"]
    [summary] = seen(run_id, "done")
    assert summary["items"][0]["answered"] == 2 and summary["items"][0]["outstanding"] == 0


async def test_an_answer_a_stopped_process_did_not_hand_to_its_waiting_run_is_handed_over_once(
        api: Api, smtp: SmtpServer) -> None:
    run_id, tokens = await start(api, smtp, "kept", {"recipients": ["a@x.example", "b@x.example"]}, mails=2)
    forms = api.platform.services.forms
    runner, forms.runner = forms.runner, None  # the process stops right after the response's commit
    await submit(api, tokens["a@x.example"], company_name="A")
    forms.runner = runner
    await asyncio.sleep(0.3)
    assert seen(run_id) == []  # stored, not yet handed over

    later = datetime.now(UTC) + timedelta(minutes=1)
    assert await forms.hand_over_kept_answers(at=later) == 1  # what the scheduler's tick does
    for _ in range(100):
        if seen(run_id):
            break
        await asyncio.sleep(0.05)
    [lane] = seen(run_id)
    assert lane["items"][0]["company_name"] == "A"
    assert await forms.hand_over_kept_answers(at=later) == 0  # never twice
    await submit(api, tokens["b@x.example"], company_name="B")  # the next answer goes straight through
    await settled(api, run_id)
    assert sorted(s["items"][0]["company_name"] for s in seen(run_id)) == ["A", "B"]


async def test_a_quorum_goes_on_without_the_last_answers(api: Api, smtp: SmtpServer) -> None:
    run_id, tokens = await start(api, smtp, "quorum", {
        "recipients": ["a@x.example", "b@x.example", "c@x.example"], "continue": "quorum", "quorum": 0.6},
        mails=3)
    await submit(api, tokens["a@x.example"], company_name="A")
    await submit(api, tokens["b@x.example"], company_name="B")
    await settled(api, run_id)
    [batch] = seen(run_id)
    assert len(batch["items"]) == 2
    await submit(api, tokens["c@x.example"], company_name="C")  # stored, but wakes nothing any more
    r = await api.get("/api/responses?form=supplier_emissions_v2")
    assert r.json()["count"] == 3
    from sqlalchemy import func, select

    from datacollect.db.models import PendingEvent
    with api.platform.db.session() as s:
        assert s.scalar(select(func.count()).select_from(PendingEvent)) == 0


async def test_at_the_deadline_the_answers_so_far_go_on(api: Api, smtp: SmtpServer) -> None:
    run_id, tokens = await start(api, smtp, "deadline", {
        "recipients": ["a@x.example", "b@x.example"], "continue": "deadline", "deadline": "14d"}, mails=2)
    await submit(api, tokens["a@x.example"], company_name="A")
    await asyncio.sleep(0.2)
    assert seen(run_id) == [] and run_row(api.platform, run_id)["status"] == "waiting"
    # time passes: the SendForm's timer is due now
    act = run_row(api.platform, run_id)["acts"][("ask", "0")]
    assert act["status"] == "waiting" and act["wake_at"] > datetime.now(UTC) + timedelta(days=13)
    with api.platform.store.transaction() as tx:
        tx.update_activation(act["id"], {"wake_at": datetime.now(UTC) - timedelta(seconds=1)})
    run = await settled(api, run_id, timeout=6)
    [batch] = seen(run_id)
    assert [i["company_name"] for i in batch["items"]] == ["A"]
    done = run["acts"][("ask", "0")]["output"]["done"][0]
    assert done["outstanding"] == 1 and done["deadline_passed"] is True


async def test_recipients_can_be_the_items_of_the_previous_node(api: Api, smtp: SmtpServer) -> None:
    run_id, tokens = await start(api, smtp, "prev", {"prefill": {"company_name": "{{ item.company }}"}},
                                 data=[{"email": "a@x.example", "company": "Acme"},
                                       {"email": "b@x.example", "company": "Bolt"}], mails=2)
    view = (await api.client.get(f"/api/public/forms/{tokens['b@x.example']}")).json()
    assert view["answers"] == {"company_name": "Bolt"}
    await submit(api, tokens["b@x.example"], company_name="Bolt")
    for _ in range(100):
        if seen(run_id):
            break
        await asyncio.sleep(0.05)
    [one] = seen(run_id)
    assert one["lane"] == "0.ask:1" and one["items"][0]["company_name"] == "Bolt"
    assert run_row(api.platform, run_id)["status"] == "waiting"


async def test_an_unknown_form_or_no_recipients_fail_the_node_plainly(api: Api, smtp: SmtpServer) -> None:
    await api.post("/api/forms", json=example_form())
    r = await api.post("/api/workflows", json=flow("bad", {"recipients": ["not-an-address"]}))
    r = await api.post("/api/workflows/bad/run", json={})
    assert r.json()["status"] == "failed"
    assert "not an email address" in r.json()["error"]["message"]


async def test_a_form_trigger_starts_a_run_per_submission(api: Api, smtp: SmtpServer) -> None:
    await api.post("/api/forms", json=example_form())
    r = await api.post("/api/workflows", json={"id": "on-answer", "name": "on answer", "nodes": [
        {"id": "answer", "type": "FormTrigger", "config": {"form_id": "supplier_emissions"}},
        {"id": "keep", "type": "TestCollect"}], "edges": [{"from": "answer", "to": "keep"}]})
    assert r.status_code == 201, r.text
    r = await api.post("/api/forms/supplier_emissions_v2/send", json={"recipients": ["a@x.example"]})
    [mail] = await smtp.wait_for(1)
    r = await api.client.post(f"/api/public/forms/{mail.token}/submit", json={"answers": good_answers()})
    rid = r.json()["response_id"]
    resp = (await api.get(f"/api/responses/{rid}")).json()
    [run_id] = resp["meta"]["trigger_runs"]
    run = await settled(api, run_id)
    assert run["mode"] == "form"
    item = run["acts"][("keep", "0")]["output"]["main"][0]
    assert item["response_id"] == rid and item["scope_1"] == 1200.5
    assert item["_form"] == {"name": "supplier_emissions", "version": "2", "key": "supplier_emissions_v2",
                             "required": item["_form"]["required"]}
    assert item["recipient"]["email"] == "a@x.example"


async def test_a_form_trigger_run_a_stopped_process_did_not_start_is_started_once_by_the_sweep(
        api: Api, smtp: SmtpServer) -> None:
    await api.post("/api/forms", json=example_form())
    r = await api.post("/api/workflows", json={"id": "on-answer", "name": "on answer", "nodes": [
        {"id": "answer", "type": "FormTrigger", "config": {"form_id": "supplier_emissions"}},
        {"id": "keep", "type": "TestCollect"}], "edges": [{"from": "answer", "to": "keep"}]})
    assert r.status_code == 201, r.text
    await api.post("/api/forms/supplier_emissions_v2/send", json={"recipients": ["a@x.example", "b@x.example"]})
    mails = {m.rcpt[0]: m.token for m in await smtp.wait_for(2)}
    forms = api.platform.services.forms
    runner, forms.runner = forms.runner, None  # the process stops right after the response's commit
    r = await api.client.post(f"/api/public/forms/{mails['a@x.example']}/submit", json={"answers": good_answers()})
    lost = r.json()["response_id"]
    forms.runner = runner
    r = await api.client.post(f"/api/public/forms/{mails['b@x.example']}/submit", json={"answers": good_answers()})
    fine = r.json()["response_id"]
    [lost_run] = (await api.get(f"/api/responses/{lost}")).json()["meta"]["trigger_runs"]
    [fine_run] = (await api.get(f"/api/responses/{fine}")).json()["meta"]["trigger_runs"]
    await settled(api, fine_run)
    assert (await api.get(f"/api/runs/{lost_run}")).status_code == 404

    later = datetime.now(UTC) + timedelta(minutes=1)  # after the grace a submission has to start its runs
    assert await forms.start_missed_trigger_runs(at=later) == 1
    run = await settled(api, lost_run)
    assert run["mode"] == "form" and run["acts"][("keep", "0")]["output"]["main"][0]["response_id"] == lost
    forms._trigger_since = None  # a sweep from the start again (a restarted process) starts nothing twice
    assert await forms.start_missed_trigger_runs(at=later) == 0
    runs = (await api.get("/api/runs?workflow_id=on-answer")).json()
    assert runs["count"] == 2


async def test_send_email_never_sends_twice_for_one_idempotency_key(api: Api, smtp: SmtpServer) -> None:
    node = make_node(SendEmail, {"to": "{{ item.email }}", "subject": "Figures of {{ item.company }}",
                                 "text": "Hello {{ item.name }}, thanks.", "html": "<p>Hello {{ item.name }}</p>"},
                     node_id="mail")
    items = [{"email": "a@x.example", "company": "Acme", "name": "Anna"},
             {"email": "b@x.example", "company": "Bolt", "name": "Bob"}]
    ctx = make_ctx("mail", services=api.platform.services, run_id="run-42")
    out = await node.run(ctx, items)
    assert [i["email"]["to"] for i in out["main"]] == [["a@x.example"], ["b@x.example"]]
    again = await node.run(make_ctx("mail", services=api.platform.services, run_id="run-42", attempt=2), items)
    assert [i["email"]["message_id"] for i in again["main"]] == [i["email"]["message_id"] for i in out["main"]]
    await asyncio.sleep(0.2)
    assert len(smtp.received) == 2  # the retry sent nothing
    m = smtp.to("a@x.example")[0]
    assert m.subject == "Figures of Acme" and "Hello Anna" in m.text and "<p>Hello Anna</p>" in m.html
    from datacollect.errors import NodeError

    with pytest.raises(NodeError, match="refused"):
        await node.run(make_ctx("mail", services=api.platform.services, run_id="run-43"),
                       [{"email": "bounce@x.example", "company": "B", "name": "B"}])


async def test_answers_arriving_together_each_get_their_lane_and_none_is_lost(api: Api, smtp: SmtpServer) -> None:
    emails = [f"s{i}@x.example" for i in range(8)]
    run_id, tokens = await start(api, smtp, "together", {"recipients": emails}, mails=len(emails))
    await asyncio.gather(*(submit(api, tokens[e], company_name=e) for e in emails))
    await settled(api, run_id)
    lanes = seen(run_id)
    assert sorted(i["company_name"] for s in lanes for i in s["items"]) == sorted(emails)
    assert len({s["lane"] for s in lanes}) == len(emails)
    from sqlalchemy import func, select

    from datacollect.db.models import PendingEvent
    with api.platform.db.session() as s:
        assert s.scalar(select(func.count()).select_from(PendingEvent)) == 0
