"""The workflow endpoints: save, versions, validation problems, activation, runs."""

from __future__ import annotations

from tests.engine.helpers import node, wf

SIMPLE = wf("simple", [node("start", "ManualTrigger"), node("double", "Calculator", formula="item.x * 2",
                                                              output_field="y")], [("start", "double")])


async def test_a_builder_saves_a_workflow_and_each_save_is_a_new_version(api):
    r = await api.post("/api/workflows", "builder", json=SIMPLE)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1
    changed = {**SIMPLE, "name": "Simple, renamed"}
    r = await api.put("/api/workflows/simple", "builder", json=changed)
    assert r.status_code == 200 and r.json()["version"] == 2
    versions = (await api.get("/api/workflows/simple/versions")).json()
    assert [v["version"] for v in versions["data"]] == [2, 1]
    v1 = (await api.get("/api/workflows/simple/versions/1")).json()
    assert v1["definition"]["name"] == "simple"
    diff = (await api.get("/api/workflows/simple/diff", params={"from": 1, "to": 2})).json()
    assert diff["settings"]["name"] == {"before": "simple", "after": "Simple, renamed"}
    r = await api.post("/api/workflows/simple/versions/1/restore", "builder")
    assert r.json()["version"] == 3 and r.json()["name"] == "simple"


async def test_saving_reports_every_problem_at_once_with_the_node_id(api):
    bad = wf("bad", [node("start", "ManualTrigger"), node("x", "NoSuchNode"),
                     node("calc", "Calculator", formula="item.x +", output_field="y"),
                     node("a", "Calculator", formula="1", output_field="a"),
                     node("b", "Calculator", formula="1", output_field="b")],
             [("start", "calc"), ("calc", "ghost"), ("a", "b"), ("b", "a")])
    r = await api.post("/api/workflows", json=bad)
    assert r.status_code == 422
    body = r.json()["error"]
    assert body["code"] == "invalid_definition"
    by_node = {(p["node_id"], p["field"]): p["message"] for p in body["details"]}
    assert "Unknown node type 'NoSuchNode'" in by_node[("x", "type")]
    assert "does not parse" in by_node[("calc", "config.formula")]
    assert any("ghost" in p["message"] for p in body["details"])
    assert any("cycle" in p["message"] for p in body["details"])
    r = await api.get("/api/workflows/bad")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_validate_answers_problems_without_saving(api):
    r = await api.post("/api/workflows/validate", json=wf("v", [node("calc", "Calculator", formula="1",
                                                                     output_field="y")], []))
    problems = r.json()["problems"]
    assert any("no trigger" in p["message"] for p in problems)


async def test_running_a_workflow_answers_with_every_node_result(api):
    await api.post("/api/workflows", json=SIMPLE)
    r = await api.post("/api/workflows/simple/run", json={"data": {"x": 21}})
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["status"] == "completed"
    acts = {a["node_id"]: a for a in run["activations"]}
    assert acts["double"]["output"] == {"main": [{"x": 21, "y": 42}]}
    assert acts["double"]["input"] == [{"x": 21}]
    listed = (await api.get("/api/runs", params={"workflow_id": "simple", "status": "completed"})).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == run["id"]


async def test_one_node_can_be_test_run_with_pinned_input(api):
    await api.post("/api/workflows", json=SIMPLE)
    r = await api.post("/api/workflows/simple/run", json={"only_node": "double", "pinned": {"start": [{"x": 5}]},
                                                         "test": True})
    run = r.json()
    assert run["mode"] == "test" and run["status"] == "completed"
    acts = {a["node_id"]: a for a in run["activations"]}
    assert acts["double"]["output"]["main"] == [{"x": 5, "y": 10}]


async def test_unknown_workflow_and_bad_bodies_get_clear_4xx_answers(api):
    r = await api.post("/api/workflows/nope/run", json={"data": {}})
    assert r.status_code == 404 and "nope" in r.json()["error"]["message"]
    r = await api.post("/api/workflows", content=b'{"id": "x", "nodes": [', headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = await api.post("/api/workflows", json={"id": "x", "nodes": "many"})
    assert r.status_code == 422 and r.json()["error"]["details"]
    r = await api.post("/api/workflows/simple/run", json={"data": 5, "wat": 1})
    assert r.status_code == 422


async def test_an_oversized_body_is_refused_with_413(api):
    big = b'{"id": "big", "pad": "' + b"x" * (api.platform.settings.max_body_bytes + 10) + b'"}'
    r = await api.post("/api/workflows", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


async def test_roles_decide_who_may_edit_run_and_read(api):
    r = await api.post("/api/workflows", "viewer", json=SIMPLE)
    assert r.status_code == 403 and "viewer" in r.json()["error"]["message"]
    r = await api.post("/api/workflows", "reviewer", json=SIMPLE)
    assert r.status_code == 403
    assert (await api.post("/api/workflows", "builder", json=SIMPLE)).status_code == 201
    assert (await api.get("/api/workflows", "viewer")).json()["count"] == 1
    assert (await api.post("/api/workflows/simple/run", "viewer", json={})).status_code == 403
    assert (await api.delete("/api/workflows/simple", "viewer")).status_code == 403
    assert (await api.get("/api/users", "builder")).status_code == 403
    assert (await api.get("/api/users", "admin")).status_code == 200
    r = await api.client.get("/api/workflows")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = await api.client.get("/api/workflows", headers={"Authorization": "Bearer forged.token.value"})
    assert r.status_code == 401


async def test_every_change_to_a_workflow_is_in_the_audit_log(api):
    await api.post("/api/workflows", "builder", json=SIMPLE)
    await api.post("/api/workflows/simple/deactivate", "builder")
    await api.delete("/api/workflows/simple", "builder")
    entries = (await api.get("/api/audit", params={"entity_type": "workflow"})).json()["data"]
    assert [e["action"] for e in entries] == ["workflow.delete", "workflow.deactivate", "workflow.create"]
    assert all(e["actor"] == "builder@example.com" for e in entries)
