"""Bad input of every shape gets a 4xx in the error shape, never a 500, and stores nothing."""

from __future__ import annotations

import pytest

from tests.engine.helpers import node, wf

GOOD = wf("good", [node("start", "ManualTrigger"), node("c", "Calculator", formula="1", output_field="x")],
          [("start", "c")])

BAD_DEFINITIONS = [
    [],
    "a string",
    12,
    None,
    {},
    {"id": 5, "nodes": [], "edges": []},
    {"id": "x" * 500, "nodes": [], "edges": []},
    {"id": "ok", "nodes": {"a": 1}, "edges": []},
    {"id": "ok", "nodes": [None], "edges": []},
    {"id": "ok", "nodes": [{"id": "a"}], "edges": []},
    {"id": "ok", "nodes": [{"id": "a", "type": "ManualTrigger", "config": []}], "edges": []},
    {"id": "ok", "nodes": [{"id": "a", "type": "ManualTrigger"}], "edges": [{"from": "a"}]},
    {"id": "ok", "nodes": [{"id": "a", "type": "ManualTrigger"}], "edges": [None]},
    {"id": "ok", "nodes": [{"id": "a b", "type": "ManualTrigger"}], "edges": []},
    {"id": "ok", "nodes": [{"id": "item", "type": "ManualTrigger"}], "edges": []},
    {"id": "ok", "nodes": [{"id": "a", "type": "ManualTrigger", "retry": {"max_attempts": -1}}], "edges": []},
    {"id": "ok", "nodes": [{"id": "a", "type": "ManualTrigger", "on_error": "explode"}], "edges": []},
    {"id": "ok", "nodes": [{"id": "a", "type": "ManualTrigger"},
                           {"id": "b", "type": "Conditional", "config": {"condition": "{% for %}"}}],
     "edges": [{"from": "a", "to": "b"}]},
    {"id": "ok", "nodes": [{"id": "a", "type": "ManualTrigger"},
                           {"id": "b", "type": "Calculator", "config": {"formula": "x", "output_field": 5}}],
     "edges": [{"from": "a", "to": "b", "condition": "sideways"}]},
    {"id": "ok", "nodes": [{"id": "a", "type": "ScheduleTrigger", "config": {"cron": "every day", "timezone": "Mars/Base"}}],
     "edges": []},
    {"id": "ok", "nodes": [{"id": "a", "type": "WebhookTrigger", "config": {"endpoint_path": "../../etc"}}], "edges": []},
]


@pytest.mark.parametrize("body", BAD_DEFINITIONS, ids=[str(i) for i in range(len(BAD_DEFINITIONS))])
async def test_a_bad_definition_gets_a_clear_4xx_and_nothing_is_stored(api, body):
    r = await api.post("/api/workflows", json=body)
    assert 400 <= r.status_code < 500, r.text
    err = r.json()["error"]
    assert err["code"] and err["message"]
    assert (await api.get("/api/workflows")).json()["count"] == 0


async def test_a_bad_update_leaves_the_stored_version_as_it_was(api):
    await api.post("/api/workflows", json=GOOD)
    r = await api.put("/api/workflows/good", json={**GOOD, "edges": [{"from": "c", "to": "start"}]})
    assert r.status_code == 422
    r = await api.put("/api/workflows/good", json={**GOOD, "id": "other"})
    assert r.status_code == 400 and "cannot change" in r.json()["error"]["message"]
    stored = (await api.get("/api/workflows/good")).json()
    assert stored["version"] == 1 and stored["definition"]["edges"] == [{"from": "start", "to": "c"}]


@pytest.mark.parametrize("body", [{"data": "text"}, {"data": [1, 2]}, {"pinned": {"ghost": []}},
                                  {"only_node": "ghost"}, {"version": 99}, {"trigger_node": "c"}, {"wait": "maybe"}])
async def test_a_bad_run_request_gets_a_4xx(api, body):
    await api.post("/api/workflows", json=GOOD)
    r = await api.post("/api/workflows/good/run", json=body)
    assert 400 <= r.status_code < 500, r.text


async def test_unknown_routes_and_methods_answer_in_the_error_shape(api):
    r = await api.get("/api/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await api.client.patch("/api/workflows")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    r = await api.get("/api/nodes/NoSuchType/config")
    assert r.status_code == 404 and "GET /api/nodes" in r.json()["error"]["message"]


BAD_BODIES = [[], "text", 12, None, {"a": {"b": [1, None]}}, {"id": None, "name": 5, "data": "x"}]


async def test_no_route_answers_500_to_bad_input_from_an_admin(api):
    """Every documented route, called by an admin with ids that do not exist and bodies of the
    wrong shape, answers a 4xx in the error shape (never a 500)."""
    import re

    app = api.client._transport.app
    crashes = []
    for path, ops in app.openapi()["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "no-such-thing", path)
        for method in ops:
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            for body in BAD_BODIES if method != "get" else [None]:
                r = await api.client.request(method.upper(), concrete, json=body, headers=api.auth("admin"))
                if r.status_code >= 500 or (r.status_code >= 400 and "error" not in r.json()):
                    crashes.append(f"{method.upper()} {path} {body!r} -> {r.status_code} {r.text[:200]}")
    assert crashes == []
