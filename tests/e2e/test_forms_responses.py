"""The responses page: what suppliers sent back, filtered, read by the form's labels, approved,
and exported as CSV and Excel."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import Server, login, shot
from tests.e2e.test_public_form import send_link


def answers(**over: Any) -> dict[str, Any]:
    out = {
        "company_name": "Acme Steel GmbH", "vat_id": "DE123456789", "country": "DE",
        "contact_name": "Jana Weber", "contact_email": "jana@acme.example", "employees": 420,
        "period_start": "2025-01-01", "period_end": "2025-03-31", "reporting_standard": "ghg_protocol",
        "scope_1": 1200.5, "scope_2": 800, "scope_2_method": "market", "reports_scope_3": False,
        "total_emissions": 2000.5, "has_sites": True, "signatory": "Jana Weber", "confirm": True,
        "sites": [{"site_name": "Duisburg works", "site_country": "DE", "electricity_mwh": 5200, "renewable_share": 35}],
    }
    out.update(over)
    return out


def test_responses_are_filtered_read_approved_and_exported(page: Any, server: Server) -> None:
    tag = uuid.uuid4().hex[:6]
    anna = f"anna.{tag}@acme.example"
    piotr = f"piotr.{tag}@plastics.example"
    for email, company in ((anna, "Acme Steel GmbH"), (piotr, "Plastics Sp. z o.o.")):
        token, _ = send_link(server, email)
        server.api("POST", f"/api/public/forms/{token}/submit", {"answers": answers(company_name=company)})

    login(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Responses").click()
    page.get_by_label("Form", exact=True).select_option(label="Supplier emissions questionnaire")
    expect(page.get_by_test_id("response-row").first).to_be_visible()
    page.get_by_label("Recipient email").fill(anna)
    rows = page.get_by_test_id("response-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Anna Schmidt")
    expect(rows.first).to_contain_text("submitted")
    shot(page, "responses")

    rows.first.get_by_role("link").click()
    def answer(field: str) -> Any:
        return page.locator(f"[data-testid=answer][data-field={field}]")

    expect(answer("country")).to_contain_text("Country of registrationGermany")
    expect(answer("scope_1")).to_contain_text("Scope 1 emissions1200.5 t CO2e")
    expect(answer("reports_scope_3")).to_contain_text("No")
    sites = answer("sites")
    expect(sites.get_by_role("cell", name="Duisburg works")).to_be_visible()
    expect(sites).to_contain_text("5200 MWh")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("header").get_by_text("approved", exact=True)).to_be_visible()
    expect(page.get_by_test_id("trail")).to_contain_text("submitted → approved")
    shot(page, "response-detail")

    page.get_by_role("link", name="Back to responses").click()
    page.get_by_label("Recipient email").fill(anna)  # other tests approve responses on this server too
    page.get_by_label("Status").select_option(label="approved")
    expect(page.get_by_test_id("response-row")).to_have_count(1)
    page.get_by_label("Recipient email").fill("")
    page.get_by_label("Status").select_option(label="Any status")
    expect(page.get_by_test_id("responses-count")).not_to_have_text("1 response")

    # the exports follow the filters
    page.get_by_label("Recipient email").fill(piotr)
    expect(page.get_by_test_id("response-row")).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:2] == ["response_id", "form"] and "company_name" in table[0]
    assert len(table) == 2 and "Plastics Sp. z o.o." in table[1]
    with page.expect_download() as download:
        page.get_by_role("button", name="Export Excel").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    assert open(download.value.path(), "rb").read(2) == b"PK"
