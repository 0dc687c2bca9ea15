"""Secrets in workflow settings never appear in an answer, and survive a round trip."""

from __future__ import annotations

from datacollect.engine.secrets import MASK
from tests.engine.helpers import node, wf


def flow(token: str = "hook-token-123", db_password: str = "db-pass-456") -> dict:
    return wf("sec", [node("hook", "WebhookTrigger", endpoint_path="sec", respond="last_node",
                           authentication={"type": "header", "token": token}),
                      node("store", "DatabaseWrite", connection=f"postgresql://app:{db_password}@db.example.com/x",
                           table="t", operation="insert")], [("hook", "store")])


async def test_secrets_are_masked_in_every_answer(api):
    r = await api.post("/api/workflows", json=flow())
    assert r.status_code == 201
    for url in ("/api/workflows/sec", "/api/workflows/sec/versions/1", "/api/workflows/sec/export"):
        text = (await api.get(url)).text
        assert "hook-token-123" not in text and "db-pass-456" not in text, url
    d = (await api.get("/api/workflows/sec")).json()["definition"]
    assert d["nodes"][0]["config"]["authentication"]["token"] == MASK
    assert d["nodes"][1]["config"]["connection"] == f"postgresql://app:{MASK}@db.example.com/x"


async def test_a_masked_definition_saved_back_keeps_the_stored_secrets(api):
    await api.post("/api/workflows", json=flow())
    d = (await api.get("/api/workflows/sec")).json()["definition"]
    d["name"] = "renamed"
    r = await api.put("/api/workflows/sec", json=d)
    assert r.status_code == 200, r.text
    r = await api.client.post("/webhook/sec", json={}, headers={"X-Webhook-Token": "hook-token-123"})
    assert r.status_code != 401
    with api.platform.db.session() as s:
        from datacollect.db import workflows as svc

        stored = svc.current_definition(s, svc.get_workflow(s, "sec"))
    assert stored["nodes"][0]["config"]["authentication"]["token"] == "hook-token-123"
    assert "db-pass-456" in stored["nodes"][1]["config"]["connection"]


async def test_a_new_workflow_with_a_hidden_secret_asks_to_type_it_again(api):
    d = flow(token=MASK)
    r = await api.post("/api/workflows", json=d)
    assert r.status_code == 422
    assert any("type it again" in p["message"] for p in r.json()["error"]["details"])
