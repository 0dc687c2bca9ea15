"""Responses: filters, pages, CSV and Excel exports, edits with a reason in the audit trail,
status changes, and sensitive answers masked for viewers."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.api.conftest import Api
from tests.api.test_public_forms import campaign
from tests.forms.helpers import SmtpServer, good_answers, settings_fixture, smtp_fixture  # noqa: F401 (fixtures)


async def three_responses(api: Api, smtp: SmtpServer) -> tuple[str, dict[str, str]]:
    cid, tokens = await campaign(api, smtp, ["a@x.example", "b@x.example", "c@x.example"])
    ids = {}
    for n, (email, token) in enumerate(sorted(tokens.items())):
        r = await api.client.post(f"/api/public/forms/{token}/submit", json={"answers": good_answers(
            company_name=email[0].upper(), annual_revenue=1000000 + n)})
        assert r.status_code == 200, r.text
        ids[email] = r.json()["response_id"]
    return cid, ids


async def test_responses_are_filtered_and_paged(api: Api, smtp: SmtpServer) -> None:
    cid, ids = await three_responses(api, smtp)
    r = await api.get("/api/responses?form=supplier_emissions&page_size=2")
    assert r.json()["count"] == 3 and len(r.json()["data"]) == 2
    r = await api.get("/api/responses?form=supplier_emissions&page_size=2&page=2")
    assert len(r.json()["data"]) == 1
    assert (await api.get("/api/responses?recipient=B@X.example")).json()["data"][0]["id"] == ids["b@x.example"]
    assert (await api.get(f"/api/responses?campaign={cid}&version=v2")).json()["count"] == 3
    assert (await api.get("/api/responses?version=3")).json()["count"] == 0
    assert (await api.get("/api/responses?since=2999-01-01T00:00:00Z")).json()["count"] == 0
    await api.put(f"/api/responses/{ids['a@x.example']}", json={"status": "approved"})
    assert (await api.get("/api/responses?status=approved")).json()["count"] == 1
    assert (await api.get("/api/responses?status=approved,submitted")).json()["count"] == 3
    c = (await api.get(f"/api/campaigns/{cid}")).json()
    assert c["counts"]["approved"] == 1 and c["answered"] == 3


async def test_exports_in_csv_and_excel(api: Api, smtp: SmtpServer) -> None:
    await three_responses(api, smtp)
    r = await api.get("/api/responses?form=supplier_emissions_v2&format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 3 and sorted(x["company_name"] for x in rows) == ["A", "B", "C"]
    assert rows[0]["scope_1"] == "1200.5" and rows[0]["recipient_email"].endswith("@x.example")
    r = await api.get("/api/responses?form=supplier_emissions_v2&format=xlsx")
    ws = load_workbook(io.BytesIO(r.content)).active
    values = list(ws.iter_rows(values_only=True))
    assert values[0][:2] == ("response_id", "form") and len(values) == 4


async def test_an_edit_needs_a_reason_and_is_kept_in_the_trail(api: Api, smtp: SmtpServer) -> None:
    _, ids = await three_responses(api, smtp)
    rid = ids["a@x.example"]
    r = await api.put(f"/api/responses/{rid}", json={"answers": {"scope_1": 1300.5}})
    assert r.status_code == 400 and "reason" in r.json()["error"]["message"]
    r = await api.put(f"/api/responses/{rid}", json={"answers": {"scope_1": "many"}, "reason": "typo"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "scope_1"
    r = await api.put(f"/api/responses/{rid}", role="reviewer", json={
        "answers": {"scope_1": 1300.5, "total_emissions": 2100.5}, "reason": "Supplier corrected by phone"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answers"]["scope_1"] == 1300.5 and body["revision"] == 2
    edit = body["changes"][-1]
    assert edit["action"] == "edited" and edit["actor"] == "reviewer@example.com"
    assert edit["before"] == {"scope_1": 1200.5, "total_emissions": 2000.5}
    assert edit["after"] == {"scope_1": 1300.5, "total_emissions": 2100.5}
    assert edit["reason"] == "Supplier corrected by phone"
    r = await api.put(f"/api/responses/{rid}", json={"status": "approved", "reason": "ok"})
    assert r.json()["status"] == "approved"
    r = await api.put(f"/api/responses/{rid}", role="viewer", json={"status": "rejected"})
    assert r.status_code == 403
    audit = (await api.get(f"/api/audit?entity_type=response&entity_id={rid}")).json()
    assert audit["count"] == 2


async def test_sensitive_answers_are_masked_for_viewers(api: Api, smtp: SmtpServer) -> None:
    _, ids = await three_responses(api, smtp)
    rid = ids["b@x.example"]
    seen = (await api.get(f"/api/responses/{rid}", role="reviewer")).json()
    assert seen["answers"]["annual_revenue"] == 1000001
    masked = (await api.get(f"/api/responses/{rid}", role="viewer")).json()
    assert masked["answers"]["annual_revenue"] == "***" and masked["answers"]["scope_1"] == 1200.5
    listed = (await api.get("/api/responses", role="viewer")).json()
    assert {x["answers"]["annual_revenue"] for x in listed["data"]} == {"***"}
    r = await api.get("/api/responses?form=supplier_emissions_v2&format=csv", role="viewer")
    assert {x["annual_revenue"] for x in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))} == {"***"}
