"""Lineage through the API: for a record in (fake) SAP, the run, the form response and its
trail, the review decision, and every step with the data at that step."""

from __future__ import annotations

from typing import Any

import pytest

from datacollect.forms.responses import create_response
from tests.api.conftest import Api
from tests.engine.helpers import node, wf
from tests.integrations.fake_sap import ENTITY, PASSWORD, SERVICE, USER


@pytest.fixture
def db_url() -> None:
    return None


async def export_a_response(api: Api, url: str) -> tuple[dict[str, Any], str]:
    assert (await api.post("/api/connections", json={"id": "sap-prod", "name": "SAP", "kind": "sap", "config": {
        "base_url": url, "service_path": SERVICE, "username": USER, "password": PASSWORD,
        "entity_set": ENTITY}})).status_code == 201
    assert (await api.put("/api/mappings/carbon_to_sap_v2", json={"definition": {"mapping_rules": [
        {"from": "supplier_id", "to": "SupplierId"}, {"from": "co2_t", "to": "Co2Tonnes", "type": "number"}]}})
    ).status_code == 200
    flow = wf("quarterly", [
        node("start", "ManualTrigger"),
        node("calc", "Calculator", formula="item.co2_kg / 1000", output_field="co2_t"),
        node("branch", "Conditional", condition="item.co2_t >= 0"),
        node("sap_export", "ERPExport", system="SAP", mapping="carbon_to_sap_v2")],
        [("start", "calc"), ("calc", "branch"), ("branch", "sap_export", "true")])
    assert (await api.post("/api/workflows", json=flow)).status_code == 201
    with api.platform.db.write() as s:
        resp = create_response(s, form_key="supplier_emissions_v2", form_name="supplier_emissions",
                               form_version="v2", answers={"supplier_id": "S-100", "co2_kg": 12500},
                               actor="respondent:anna@supplier.example",
                               recipient={"email": "anna@supplier.example"})
        response_id = resp.id
    item = {"supplier_id": "S-100", "co2_kg": 12500, "response_id": response_id,
            "_form": {"name": "supplier_emissions", "version": "v2", "key": "supplier_emissions_v2"},
            "_review": {"decision": "approve", "by": "reviewer@example.com", "at": "2025-04-03T10:00:00+00:00"}}
    other = {"supplier_id": "S-200", "co2_kg": 7000}
    run = (await api.post("/api/workflows/quarterly/run", json={"data": [item, other]})).json()
    assert run["status"] == "completed", run.get("error")
    return run, response_id


async def test_a_record_in_sap_is_traced_to_its_run_response_review_and_steps(api: Api, sap) -> None:
    fake, server = sap
    run, response_id = await export_a_response(api, server.url)
    export = next(a for a in run["activations"] if a["node_id"] == "sap_export")
    ref = export["output"]["main"][0]["_export"]["reference"]
    assert fake.docs(ref)[0]["SupplierId"] == "S-100"

    r = await api.get("/api/lineage", params={"external_ref": ref}, role="viewer")
    assert r.status_code == 200, r.text
    [found] = r.json()["data"]
    assert found["export"]["system"] == "SAP" and found["export"]["entity"] == ENTITY
    assert found["export"]["document_key"] == "0000000001" and found["export"]["status"] == "done"
    assert found["export"]["payload"] == {"SupplierId": "S-100", "Co2Tonnes": 12.5}
    assert found["export"]["item_key"] == f"{run['id']}/sap_export/0/0"
    assert found["source"] == {"run_id": run["id"], "workflow_id": "quarterly", "version_id": found["source"]["version_id"],
                               "node_id": "sap_export", "lane": "0", "item_index": 0}
    response = found["response"]
    assert response["id"] == response_id and response["form_key"] == "supplier_emissions_v2"
    assert response["recipient_email"] == "anna@supplier.example"
    assert [c["action"] for c in response["changes"]] == ["submitted"]
    assert found["review"]["decision"] == "approve"
    steps = [(e["step"], e["node_id"]) for e in found["events"]]
    assert steps == [("received", "start"), ("mapped", "calc"), ("routed", "branch"), ("sent", "sap_export")]
    assert found["events"][0]["data"]["co2_kg"] == 12500
    assert found["events"][1]["data"]["co2_t"] == 12.5  # the value, as it was at that step
    assert found["events"][-1]["document_key"] == "0000000001"

    same = (await api.get("/api/lineage", params={"external_ref": found["export"]["item_key"]})).json()
    assert same["count"] == 1
    by_response = (await api.get("/api/lineage", params={"response_id": response_id})).json()
    assert by_response["count"] == 1 and by_response["data"][0]["export"]["external_ref"] == ref
    by_run = (await api.get("/api/lineage", params={"run_id": run["id"]})).json()
    assert by_run["count"] == 2
    assert by_run["data"][1]["response"] is None and by_run["data"][1]["events"][1]["data"]["co2_t"] == 7.0


async def test_lineage_needs_a_reference_and_says_nothing_of_an_unknown_one(api: Api) -> None:
    r = await api.get("/api/lineage")
    assert r.status_code == 400 and "external_ref" in r.json()["error"]["message"]
    r = await api.get("/api/lineage", params={"external_ref": "DC-000000000000000000000000"})
    assert r.status_code == 200 and r.json() == {"data": [], "count": 0}
