"""Forms API: saving versions, reading, JSON Schema, templates, and sending a campaign."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.api.conftest import Api
from tests.forms.helpers import SmtpServer, example_form, settings_fixture, smtp_fixture  # noqa: F401 (fixtures)


async def test_a_form_with_problems_is_refused_with_every_problem_at_once(api: Api) -> None:
    bad = {"name": "supplier_emissions", "version": 1, "fields": [
        {"id": "scope_1", "type": "number", "min": 10, "max": 1},
        {"id": "country", "type": "select", "options": []},
        {"id": "when", "type": "date", "min": "yesterday"}]}
    r = await api.post("/api/forms", json=bad)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_form"
    assert len(err["details"]) >= 3
    assert all("message" in p and "path" in p for p in err["details"])
    r = await api.get("/api/forms")
    assert r.json()["count"] == 0  # nothing stored


async def test_saved_versions_never_change_and_a_new_save_is_the_next_version(api: Api) -> None:
    form = example_form()
    r = await api.post("/api/forms", json=form)
    assert r.status_code == 201, r.text
    assert r.json()["key"] == "supplier_emissions_v2"
    assert (await api.post("/api/forms", json=form)).status_code == 200  # the same again: nothing new
    changed = {**form, "title": "Another title"}
    r = await api.post("/api/forms", json=changed)
    assert r.status_code == 409 and "new version" in r.json()["error"]["message"]
    del changed["version"]
    r = await api.post("/api/forms", json=changed)
    assert r.status_code == 201 and r.json()["key"] == "supplier_emissions_v3"
    versions = (await api.get("/api/forms/supplier_emissions/versions")).json()
    assert [v["key"] for v in versions["data"]] == ["supplier_emissions_v2", "supplier_emissions_v3"]
    assert (await api.get("/api/forms/supplier_emissions")).json()["key"] == "supplier_emissions_v3"
    v2 = (await api.get("/api/forms/supplier_emissions_v2")).json()
    assert v2["title"] == form["title"] and v2["schema"]["pages"][0]["id"] == "company"
    listed = (await api.get("/api/forms", role="viewer")).json()
    assert listed["count"] == 1 and listed["data"][0]["versions"] == 2
    assert (await api.post("/api/forms", role="viewer", json=form)).status_code == 403


async def test_json_schema_and_the_bulk_import_templates(api: Api) -> None:
    await api.post("/api/forms", json=example_form())
    r = await api.get("/api/forms/supplier_emissions_v2/json-schema")
    assert r.status_code == 200
    js = r.json()
    assert js["$schema"].endswith("2020-12/schema") and "scope_1" in js["properties"]
    r = await api.get("/api/forms/supplier_emissions_v2/template.csv")
    header = next(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert header[:3] == ["company_name", "vat_id", "country"]
    assert "sites" not in header and "certificate" not in header  # a table and a file have no flat column
    r = await api.get("/api/forms/supplier_emissions_v2/template.xlsx")
    wb = load_workbook(io.BytesIO(r.content))
    assert [c.value for c in wb["Answers"][1]] == header
    fields = {row[0]: row for row in wb["Fields"].iter_rows(min_row=2, values_only=True)}
    assert fields["scope_1"][3] == "yes" and fields["scope_1"][4] == "t CO2e"


async def test_sending_a_form_mails_each_recipient_a_personal_link(api: Api, smtp: SmtpServer) -> None:
    await api.post("/api/forms", json=example_form())
    r = await api.post("/api/forms/supplier_emissions_v2/send", json={
        "recipients": [{"email": "anna@acme.example", "name": "Anna", "company": "Acme"},
                       {"email": "bob@bolt.example", "name": "Bob", "company": "Bolt"}, "cy@cogs.example"],
        "subject": "{{ recipient.company or 'Your company' }}: Q1 emissions",
        "deadline": "2099-01-31T12:00:00Z"})
    assert r.status_code == 201, r.text
    camp = r.json()
    assert camp["total"] == 3 and camp["links"] == []
    mails = await smtp.wait_for(3)
    anna = smtp.to("anna@acme.example")[0]
    assert anna.subject == "Acme: Q1 emissions"
    assert smtp.to("cy@cogs.example")[0].subject == "Your company: Q1 emissions"
    assert "Hello Anna" in anna.text and "2099-01-31 12:00 UTC" in anna.text
    assert f'href="http://forms.test/f/{anna.token}"' in anna.html
    assert "esg@buyer.example" in str(anna.msg["From"])
    assert len({m.token for m in mails}) == 3  # personal
    await api.platform.services.forms.wait_idle()
    c = (await api.get(f"/api/campaigns/{camp['id']}")).json()
    assert c["counts"]["sent"] == 3 and c["answered"] == 0
    assert {o["recipient"]["email"] for o in c["outstanding"]} == {"anna@acme.example", "bob@bolt.example",
                                                                   "cy@cogs.example"}
    # opening the link is tracked
    r = await api.client.get(f"/api/public/forms/{anna.token}")
    assert r.status_code == 200
    c = (await api.get(f"/api/campaigns/{camp['id']}")).json()
    assert c["counts"]["opened"] == 1 and c["counts"]["sent"] == 2


async def test_send_takes_recipients_from_a_data_source_and_prefills(api: Api, smtp: SmtpServer) -> None:
    await api.post("/api/forms", json=example_form())
    await api.put("/api/data-sources/suppliers", json={"rows": [
        {"email": "anna@acme.example", "name": "Anna", "company": "Acme GmbH"}]})
    r = await api.post("/api/forms/supplier_emissions_v2/send", json={
        "data_source": "suppliers", "prefill": {"company_name": "{{ recipient.company }}", "country": "DE"}})
    assert r.status_code == 201, r.text
    [mail] = await smtp.wait_for(1)
    view = (await api.client.get(f"/api/public/forms/{mail.token}")).json()
    assert view["answers"] == {"company_name": "Acme GmbH", "country": "DE"}
    assert view["answers_from"] == "prefill"
    r = await api.post("/api/forms/supplier_emissions_v2/send", json={"data_source": "nope"})
    assert r.status_code == 404


async def test_portal_delivery_answers_the_links_once(api: Api, smtp: SmtpServer) -> None:
    await api.post("/api/forms", json=example_form())
    r = await api.post("/api/forms/supplier_emissions_v2/send", json={
        "delivery": "portal", "recipients": [{"name": "Plant 7", "email": "p7@acme.example"}]})
    assert r.status_code == 201
    [link] = r.json()["links"]
    assert link["url"].startswith("http://forms.test/f/")
    token = link["url"].rsplit("/", 1)[1]
    assert (await api.client.get(f"/api/public/forms/{token}")).status_code == 200
    await api.platform.services.forms.wait_idle()
    assert smtp.received == []  # portal: no mail
