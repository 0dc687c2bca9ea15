"""Runs through the API: list with filters and pages, detail, cancel, retry from the failed node."""

from __future__ import annotations

from tests.engine.helpers import node, wf


async def test_runs_are_listed_newest_first_with_filters_and_pages(api):
    await api.post("/api/workflows", json=wf("a", [node("s", "ManualTrigger"),
                                                   node("c", "Calculator", formula="item.v", output_field="o")],
                                             [("s", "c")]))
    for v in range(5):
        await api.post("/api/workflows/a/run", json={"data": {"v": v}})
    await api.post("/api/workflows/a/run", json={"data": {}})  # fails: item.v is missing
    page = (await api.get("/api/runs", params={"workflow_id": "a", "page_size": 2})).json()
    assert page["count"] == 6 and len(page["data"]) == 2
    failed = (await api.get("/api/runs", params={"status": "failed"})).json()
    assert failed["count"] == 1 and failed["data"][0]["error"]["node_id"] == "c"
    r = await api.get("/api/runs", params={"status": "exploded"})
    assert r.status_code == 400 and "Unknown run status" in r.json()["error"]["message"]
    assert (await api.get("/api/runs/does-not-exist")).status_code == 404


async def test_a_failed_run_is_retried_from_the_failed_node_through_the_api(api):
    await api.post("/api/workflows", json=wf("r", [node("s", "ManualTrigger"),
                                                   node("flaky", "TestFlaky", failures=1, name="api-retry"),
                                                   node("c", "Calculator", formula="item.attempt", output_field="o")],
                                             [("s", "flaky"), ("flaky", "c")]))
    run = (await api.post("/api/workflows/r/run", json={"data": {"x": 1}})).json()
    assert run["status"] == "failed"
    flaky = next(a for a in run["activations"] if a["node_id"] == "flaky")
    assert flaky["error"]["message"] == "failure 1 of 1" and flaky["input"] == [{"x": 1}]
    r = await api.post(f"/api/runs/{run['id']}/retry", "viewer", json={})
    assert r.status_code == 403
    r = await api.post(f"/api/runs/{run['id']}/retry", json={})
    assert r.status_code == 200 and r.json()["status"] == "completed"
    c = next(a for a in r.json()["activations"] if a["node_id"] == "c")
    assert c["output"]["main"] == [{"x": 1, "attempt": 2, "o": 2}]
    r = await api.post(f"/api/runs/{run['id']}/retry", json={})
    assert r.status_code == 409


async def test_a_waiting_run_can_be_cancelled_once(api):
    await api.post("/api/workflows", json=wf("w", [node("s", "ManualTrigger"), node("p", "Wait", duration="1h")],
                                             [("s", "p")]))
    run = (await api.post("/api/workflows/w/run", json={"data": {}})).json()
    assert run["status"] == "waiting"
    r = await api.post(f"/api/runs/{run['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = await api.post(f"/api/runs/{run['id']}/cancel")
    assert r.status_code == 409


async def test_named_mappings_are_stored_and_reused_by_datamapper(api):
    r = await api.put("/api/mappings/carbon_to_sap_v2", json={"definition": {"mapping_rules": [
        {"from": "supplier_id", "to": "LIFNR"}, {"from": "co2_t", "to": "MENGE", "type": "number"}]}})
    assert r.status_code == 200
    bad = await api.put("/api/mappings/broken", json={"definition": {"mapping_rules": "nope"}})
    assert bad.status_code == 400
    await api.post("/api/workflows", json=wf("m", [node("s", "ManualTrigger"),
                                                   node("map", "DataMapper", mapping="carbon_to_sap_v2")],
                                             [("s", "map")]))
    run = (await api.post("/api/workflows/m/run", json={"data": {"supplier_id": "S1", "co2_t": "12.5"}})).json()
    out = next(a for a in run["activations"] if a["node_id"] == "map")["output"]["main"]
    assert out == [{"LIFNR": "S1", "MENGE": 12.5}]


async def test_outlier_check_compares_with_the_same_suppliers_history(api):
    await api.post("/api/workflows", json=wf("o", [
        node("s", "ManualTrigger"),
        node("validate_1", "DataValidator", rules=[{"type": "outlier_check", "key": "supplier_id",
                                                    "fields": ["co2_t"], "method": "change", "threshold": 0.5}]),
        node("branch_1", "Conditional", condition="validate_1.score > 0.8")],
        [("s", "validate_1"), ("validate_1", "branch_1")]))
    for v in (100, 104, 98):
        await api.post("/api/workflows/o/run", json={"data": {"supplier_id": "S1", "co2_t": v}})
    run = (await api.post("/api/workflows/o/run", json={"data": {"supplier_id": "S1", "co2_t": 900}})).json()
    branch = next(a for a in run["activations"] if a["node_id"] == "branch_1")
    assert branch["output"].get("false") and not branch["output"].get("true")
    other = (await api.post("/api/workflows/o/run", json={"data": {"supplier_id": "S2", "co2_t": 900}})).json()
    branch = next(a for a in other["activations"] if a["node_id"] == "branch_1")
    assert branch["output"].get("true")
