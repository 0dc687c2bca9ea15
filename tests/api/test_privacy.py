"""Privacy endpoints: a respondent's data exported (responses with revisions, review items
with comments, files, run data) and erased everywhere (every text column of every table
searched afterwards), files gone from the blob store, other respondents untouched, the review
trail still append-only; admins only, and bad input answered with a clear 4xx."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import String, Text, cast, select
from sqlalchemy.exc import DBAPIError

from datacollect.db.models import Base
from tests.api.conftest import Api
from tests.api.test_public_forms import PDF
from tests.api.test_reviews import form_flow, review_of, seen, send_form, submit, team
from tests.engine.helpers import run_row
from tests.reviews.helpers import settled

GONE = "erase.me@acme.example"
KEPT = "keep.me@globex.example"
UNIQUE = "Zyxwvut Quarry Unique GmbH"


def everywhere(api: Api, *needles: str) -> list[str]:
    """``table.column`` of every text (or JSON) value in the database that holds one of ``needles``."""
    found = []
    with api.platform.db.engine.connect() as c:
        for table in Base.metadata.sorted_tables:
            cols = [col for col in table.columns if not isinstance(col.type, (String,)) or True]
            rows = c.execute(select(*(cast(col, Text) for col in cols))).all()
            for row in rows:
                for col, value in zip(cols, row, strict=True):
                    if value is not None and any(n.lower() in str(value).lower() for n in needles):
                        found.append(f"{table.name}.{col.name}")
    return sorted(set(found))


async def two_respondents(api: Api) -> dict[str, Any]:
    await team(api, "Sustainability", "reviewer@example.com", "admin@example.com")
    r = await api.post("/api/workflows", role="builder", json=form_flow("emissions-review", "wait"))
    assert r.status_code == 201, r.text
    gone_token = await send_form(api, GONE)
    kept_token = await send_form(api, KEPT)
    r = await api.client.post(f"/api/public/forms/{gone_token}/files?field=certificate&name=gone-certificate.pdf",
                              content=PDF, headers={"Content-Type": "application/pdf"})
    assert r.status_code == 201, r.text
    ref = r.json()
    gone = await submit(api, gone_token, company_name=UNIQUE, contact_email=GONE, certificate=ref)
    kept = await submit(api, kept_token, company_name="Globex Corp", contact_email=KEPT)
    item = await review_of(api, gone)
    await review_of(api, kept)
    await settled(api.platform, item["run_id"], "waiting")
    r = await api.post(f"/api/reviews/items/{item['id']}/comments", json={"body": f"Called {UNIQUE} about scope 1"})
    assert r.status_code == 201, r.text
    r = await api.put(f"/api/responses/{gone}", json={"answers": {"scope_1": 1300.5, "total_emissions": 2100.5},
                                                      "reason": "corrected by phone"})
    assert r.status_code == 200, r.text
    r = await api.post(f"/api/reviews/items/{item['id']}/approve", json={"reason": "checked"})
    assert r.status_code == 200, r.text
    await settled(api.platform, item["run_id"])
    return {"gone": gone, "kept": kept, "item": item["id"], "file": ref["key"]}


async def test_export_holds_the_respondents_responses_review_items_files_and_run_data(api: Api) -> None:
    ids = await two_respondents(api)
    r = await api.get(f"/api/privacy/respondents/{GONE.upper()}/export")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["email"] == GONE
    [resp] = doc["responses"]
    assert resp["id"] == ids["gone"] and resp["answers"]["company_name"] == UNIQUE and resp["revision"] == 2
    assert [c["action"] for c in resp["revisions"]] == ["submitted", "edited", "status"]
    assert resp["revisions"][1]["before"] == {"scope_1": 1200.5, "total_emissions": 2000.5}
    [req] = doc["requests"]
    assert req["email"] == GONE and req["links"] and "token" not in str(req["links"])
    assert [f["name"] for f in doc["files"]] == ["gone-certificate.pdf"]
    [item] = doc["review_items"]
    assert item["id"] == ids["item"] and item["status"] == "approved"
    assert [c["body"] for c in item["comments"]] == [f"Called {UNIQUE} about scope 1"]
    assert "approved" in [e["action"] for e in item["trail"]]
    assert doc["run_data"] and doc["counts"]["responses"] == 1
    assert KEPT not in str(doc) and "Globex" not in str(doc)  # nothing about anyone else
    audit = (await api.get("/api/audit?entity_type=respondent")).json()["data"]
    assert [a["action"] for a in audit] == ["respondent.export"] and GONE not in str(audit)


async def test_erasure_leaves_nothing_about_the_respondent_and_touches_no_one_else(api: Api) -> None:
    ids = await two_respondents(api)
    before = everywhere(api, GONE, UNIQUE)
    assert {"form_responses.recipient_email", "form_requests.email", "review_items.data",
            "activations.output"} <= set(before)
    assert (await api.platform.services.blobs.exists(ids["file"]))

    r = await api.post(f"/api/privacy/respondents/{GONE}/erase", json={"reason": "GDPR request #4711"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["counts"]["responses"] == 1 and report["counts"]["files"] == 1
    assert report["counts"]["review_items"] == 1 and report["counts"]["requests"] == 1
    assert report["counts"]["review_trail_values"] >= 1 and report["counts"]["run_data"] >= 1
    assert report["files_deleted"] == 1

    assert everywhere(api, GONE, UNIQUE, "gone-certificate") == []
    assert not await api.platform.services.blobs.exists(ids["file"])
    assert (await api.get(f"/api/responses/{ids['gone']}")).status_code == 404
    kept = (await api.get(f"/api/responses/{ids['kept']}")).json()
    assert kept["answers"]["company_name"] == "Globex Corp" and kept["recipient"]["email"] == KEPT
    assert (await api.get(f"/api/reviews/items?response_id={ids['kept']}")).json()["count"] == 1
    assert "form_responses.recipient_email" in everywhere(api, KEPT)
    # the review trail keeps who did what; its values are the tombstone, and it stays append-only
    trail = (await api.get(f"/api/reviews/items/{ids['item']}/trail")).json()
    events = trail["data"] if isinstance(trail, dict) else trail
    assert "approved" in [e["action"] for e in events]
    assert all(e["before"] in (None, {"erased": True}) and e["after"] in (None, {"erased": True}) for e in events)
    with pytest.raises(DBAPIError, match="append-only"), api.platform.db.writer.begin() as c:
        c.exec_driver_sql("UPDATE review_events SET actor = 'someone else'")
    with pytest.raises(DBAPIError, match="append-only"), api.platform.db.writer.begin() as c:
        c.exec_driver_sql("""UPDATE review_events SET after = '{"status": "rejected"}'""")
    with pytest.raises(DBAPIError, match="append-only"), api.platform.db.writer.begin() as c:
        c.exec_driver_sql("DELETE FROM review_events")
    # the erasure is in the audit log, with its reason, without the address
    audit = (await api.get("/api/audit?entity_type=respondent")).json()["data"]
    assert audit[0]["action"] == "respondent.erase" and audit[0]["reason"] == "GDPR request #4711"
    assert audit[0]["entity_id"] == report["email_sha256"]
    assert (await api.post(f"/api/privacy/respondents/{GONE}/erase", json={"reason": "again"})).status_code == 404


async def test_only_admins_may_export_or_erase_and_bad_input_is_refused(api: Api) -> None:
    for role in ("builder", "reviewer", "viewer"):
        r = await api.get(f"/api/privacy/respondents/{GONE}/export", role=role)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        r = await api.post(f"/api/privacy/respondents/{GONE}/erase", role=role, json={"reason": "x"})
        assert r.status_code == 403
        assert (await api.get("/api/privacy/retention", role=role)).status_code == 403
    assert (await api.client.get(f"/api/privacy/respondents/{GONE}/export")).status_code == 401
    r = await api.get("/api/privacy/respondents/nobody@nowhere.example/export")
    assert r.status_code == 404 and "Nothing is stored" in r.json()["error"]["message"]
    r = await api.get("/api/privacy/respondents/not-an-address/export")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_input"
    r = await api.post(f"/api/privacy/respondents/{GONE}/erase", json={})
    assert r.status_code == 422 and "reason" in r.text
    r = await api.post(f"/api/privacy/respondents/{GONE}/erase", json={"reason": ""})
    assert r.status_code == 422
    r = await api.get("/api/privacy/retention")
    assert r.status_code == 200 and r.json() == {"default_days": None, "forms": {}}


async def test_an_open_review_of_an_erased_respondent_is_rejected_and_its_lane_goes_on_alone(api: Api) -> None:
    await team(api, "Sustainability", "reviewer@example.com")
    r = await api.post("/api/workflows", role="builder", json=form_flow("emissions-review", "wait"))
    assert r.status_code == 201, r.text
    gone = await submit(api, await send_form(api, GONE), company_name=UNIQUE, contact_email=GONE)
    kept = await submit(api, await send_form(api, KEPT), company_name="Globex Corp", contact_email=KEPT)
    gone_item, kept_item = await review_of(api, gone), await review_of(api, kept)
    await settled(api.platform, gone_item["run_id"], "waiting")
    await settled(api.platform, kept_item["run_id"], "waiting")

    r = await api.post(f"/api/privacy/respondents/{GONE}/erase", json={"reason": "GDPR request #4712"})
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["review_items_closed"] == 1
    # nobody can approve the emptied item into the ERP: it is rejected, with the erasure's reason
    closed = (await api.get(f"/api/reviews/items/{gone_item['id']}")).json()
    assert closed["status"] == "rejected" and closed["decided_by"] == "system"
    assert closed["reason"] == "The respondent's data was erased: GDPR request #4712"
    r = await api.post(f"/api/reviews/items/{gone_item['id']}/approve", role="reviewer", json={})
    assert r.status_code == 409
    # the waiting lane went on down 'rejected' with nothing of the person; the other still waits
    await settled(api.platform, gone_item["run_id"])
    [no] = seen(gone_item["run_id"], "no")
    assert UNIQUE not in str(no["items"]) and GONE not in str(no["items"])
    assert not seen(gone_item["run_id"], "sap")
    assert (await api.get(f"/api/reviews/items/{kept_item['id']}")).json()["status"] == "pending"
    assert run_row(api.platform, kept_item["run_id"])["status"] == "waiting"
