"""Webhooks: auth (none, header token, HMAC signature), answering at once or with the last
node's items, the waiting-run resume URL, and activation."""

from __future__ import annotations

import hashlib
import hmac

import orjson

from tests.engine.helpers import node, wf


def hook_flow(id_: str, path: str, respond: str = "last_node", auth: dict | None = None) -> dict:
    return wf(id_, [node("hook", "WebhookTrigger", endpoint_path=path, respond=respond,
                         authentication=auth or {"type": "none"}),
                    node("calc", "Calculator", formula="item.value * 2", output_field="double")],
              [("hook", "calc")])


async def test_a_webhook_call_waits_for_the_run_and_answers_with_the_last_nodes_items(api):
    assert (await api.post("/api/workflows", json=hook_flow("w", "in"))).status_code == 201
    r = await api.client.post("/webhook/in", json={"value": 21})
    assert r.status_code == 200 and r.json() == [{"value": 21, "double": 42}]
    r = await api.client.post("/webhook/in", json=[{"value": 1}, {"value": 2}])
    assert r.json() == [{"value": 1, "double": 2}, {"value": 2, "double": 4}]


async def test_a_webhook_that_answers_immediately_gives_the_run_id(api):
    await api.post("/api/workflows", json=hook_flow("w", "fast", respond="immediately"))
    r = await api.client.post("/webhook/fast", json={"value": 3})
    assert r.status_code == 202
    run_id = r.json()["run_id"]
    status = await api.platform.runner.wait_settled(run_id, 5)
    assert status == "completed"
    run = (await api.get(f"/api/runs/{run_id}")).json()
    assert run["mode"] == "webhook"


async def test_header_token_auth_refuses_a_missing_or_wrong_token(api):
    await api.post("/api/workflows", json=hook_flow("w", "tok", auth={"type": "header", "header": "X-Token",
                                                                          "token": "s3cret"}))
    r = await api.client.post("/webhook/tok", json={"value": 1})
    assert r.status_code == 401 and "X-Token" in r.json()["error"]["message"]
    r = await api.client.post("/webhook/tok", json={"value": 1}, headers={"X-Token": "wrong"})
    assert r.status_code == 401
    r = await api.client.post("/webhook/tok", json={"value": 1}, headers={"X-Token": "s3cret"})
    assert r.status_code == 200
    runs = (await api.get("/api/runs", params={"workflow_id": "w"})).json()
    assert runs["count"] == 1  # refused calls start nothing


async def test_hmac_signature_auth_checks_the_raw_body(api):
    await api.post("/api/workflows", json=hook_flow("w", "signed", auth={"type": "hmac", "secret": "k3y"}))
    body = orjson.dumps({"value": 5})
    good = "sha256=" + hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    r = await api.client.post("/webhook/signed", content=body, headers={"X-Signature-256": good,
                                                                       "content-type": "application/json"})
    assert r.status_code == 200 and r.json() == [{"value": 5, "double": 10}]
    r = await api.client.post("/webhook/signed", content=body + b" ", headers={"X-Signature-256": good})
    assert r.status_code == 401 and "signature" in r.json()["error"]["message"]


async def test_the_secrets_of_a_webhook_are_never_in_an_answer_or_the_node_schema(api):
    await api.post("/api/workflows", json=hook_flow("w", "sec", auth={"type": "header", "token": "top-secret"}))
    schema = (await api.get("/api/nodes/WebhookTrigger/config")).json()
    assert "top-secret" not in orjson.dumps(schema).decode()
    runs = (await api.client.post("/webhook/sec", json={"value": 1}, headers={"X-Webhook-Token": "top-secret"}))
    assert "top-secret" not in runs.text


async def test_unknown_paths_inactive_workflows_and_bad_bodies_get_4xx(api):
    r = await api.client.post("/webhook/nowhere", json={})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    await api.post("/api/workflows", json=hook_flow("w", "in"))
    r = await api.client.post("/webhook/in", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]
    r = await api.client.get("/webhook/in")
    assert r.status_code == 405
    await api.post("/api/workflows/w/deactivate")
    r = await api.client.post("/webhook/in", json={"value": 1})
    assert r.status_code == 404
    await api.post("/api/workflows/w/activate")
    assert (await api.client.post("/webhook/in", json={"value": 1})).status_code == 200


async def test_a_failed_run_answers_the_caller_with_the_node_and_the_reason(api):
    await api.post("/api/workflows", json=hook_flow("w", "in"))
    r = await api.client.post("/webhook/in", json={"other": 1})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "run_failed" and err["details"]["node_id"] == "calc"


async def test_two_workflows_cannot_listen_on_the_same_path(api):
    await api.post("/api/workflows", json=hook_flow("one", "shared"))
    r = await api.post("/api/workflows", json=hook_flow("two", "shared"))
    assert r.status_code == 422 and "already used by workflow 'one'" in r.json()["error"]["details"][0]["message"]


async def test_the_resume_url_wakes_a_waiting_run_with_the_body(api):
    await api.post("/api/workflows", json=wf("wait", [
        node("start", "ManualTrigger"), node("pause", "Wait", continue_condition="webhook", duration="2d"),
        node("calc", "Calculator", formula="item.webhook.ok", output_field="approved")],
        [("start", "pause"), ("pause", "calc")]))
    run = (await api.post("/api/workflows/wait/run", json={"data": {"x": 1}})).json()
    assert run["status"] == "waiting"
    r = await api.client.post(f"/webhook-waiting/{run['id']}", json={"ok": True})
    assert r.status_code == 200 and r.json()["status"] == "completed"
    run = (await api.get(f"/api/runs/{run['id']}")).json()
    calc = next(a for a in run["activations"] if a["node_id"] == "calc")
    assert calc["output"]["main"] == [{"x": 1, "webhook": {"ok": True}, "approved": True}]
    r = await api.client.post(f"/webhook-waiting/{run['id']}", json={})
    assert r.status_code == 404
