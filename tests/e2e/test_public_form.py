"""The public form at /f/{token}, as a supplier meets it: no login, five pages of the example
form with conditional fields, a repeating group and a file; a draft saved, the page reloaded
and the work resumed; the submission and its confirmation; the answers at fault after a bad
submission; and the pages an expired, used, passed-on or unknown link gets.

Links are made as a user makes them: the example form is saved and sent through the API with
portal delivery, which answers each recipient's personal link.
"""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.error
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, Server, shot

EXAMPLE = ROOT / "examples" / "forms" / "supplier_emissions_v2.json"
PDF = b"%PDF-1.4\n% verification statement\n" + b"0" * 4000 + b"\n%%EOF\n"
PHONE = {"width": 375, "height": 812}


def ensure_example_form(server: Server) -> None:
    try:  # saving the same version twice answers the stored one
        server.api("POST", "/api/forms", json.loads(EXAMPLE.read_text()), token=server.token())
    except urllib.error.HTTPError as exc:  # pragma: no cover - says what the server refused
        raise AssertionError(exc.read().decode()) from exc


def send_link(server: Server, email: str | None = None, **body: Any) -> tuple[str, str]:
    """Sends the example form to one supplier by portal; answers (token, request id)."""
    ensure_example_form(server)
    email = email or f"anna.{uuid.uuid4().hex[:6]}@acme.example"
    campaign = server.api("POST", "/api/forms/supplier_emissions_v2/send", {
        "delivery": "portal", "name": "Q1 emissions",
        "recipients": [{"email": email, "name": "Anna Schmidt", "company": "Acme Steel GmbH"}], **body,
    }, token=server.token())
    link = campaign["links"][0]
    token = re.search(r"/f/([A-Za-z0-9_-]+)$", link["url"])
    assert token, link
    return token.group(1), link["request_id"]


def save_draft(server: Server, token: str, answers: dict[str, Any]) -> None:
    server.api("PUT", f"/api/public/forms/{token}/draft", {"answers": answers})


def first_rows(page: Any) -> Any:
    return page.get_by_test_id("table-row")


def test_a_supplier_fills_the_form_page_by_page_saves_a_draft_resumes_and_submits(page: Any, server: Server, tmp_path: Path) -> None:
    token, _ = send_link(server)
    page.goto(f"/f/{token}")
    expect(page.get_by_role("heading", name="Supplier emissions questionnaire")).to_be_visible()
    expect(page.get_by_text("For Anna Schmidt, Acme Steel GmbH")).to_be_visible()
    expect(page.get_by_text("Page 1 of 5")).to_be_visible()

    # page 1: the company
    page.get_by_label("Legal company name").fill("Acme Steel GmbH")
    page.get_by_label("VAT number").fill("DE123456789")
    page.get_by_label("Country of registration").select_option(label="Germany")
    page.get_by_label("Contact person").fill("Jana Weber")
    page.get_by_label("Contact email").fill("jana@acme.example")
    page.get_by_label("Number of employees").fill("420")
    page.get_by_label("Annual revenue").fill("12500000")
    shot(page, "public-form")
    page.get_by_role("button", name="Next").click()

    # page 2: the period; "Which standard?" appears only for another standard
    expect(page.get_by_role("heading", name="Reporting period")).to_be_visible()
    expect(page.get_by_text("Page 2 of 5")).to_be_visible()
    page.get_by_label("Start of the reporting period").fill("2025-01-01")
    page.get_by_label("End of the reporting period").fill("2025-03-31")
    expect(page.get_by_label("Which standard?")).to_have_count(0)
    page.get_by_role("radio", name="Another standard").check()
    expect(page.get_by_label("Which standard?")).to_be_visible()
    page.get_by_role("radio", name="GHG Protocol Corporate Standard").check()
    expect(page.get_by_label("Which standard?")).to_have_count(0)
    page.get_by_role("button", name="Next").click()

    # page 3: emissions; the scope 3 questions follow the yes/no answer
    expect(page.get_by_role("heading", name="Greenhouse gas emissions")).to_be_visible()
    page.get_by_label("Scope 1 emissions").fill("1200.5")
    expect(page.get_by_role("radio", name="Market-based")).to_be_checked()  # the field's default
    page.get_by_label("Scope 2 emissions").fill("800")
    scope_3 = page.get_by_role("group", name="Do you report Scope 3 emissions?")
    scope_3.get_by_role("radio", name="Yes").check()
    page.get_by_label("Scope 3 emissions").fill("1000")
    page.get_by_role("checkbox", name="1. Purchased goods and services").check()
    scope_3.get_by_role("radio", name="No").check()
    expect(page.get_by_label("Scope 3 emissions")).to_have_count(0)
    page.get_by_label("Total emissions").fill("2000.5")

    # a draft, by the button; then the page is reloaded and the work comes back
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_test_id("draft-status")).to_contain_text("Draft saved")
    page.reload()
    expect(page.get_by_test_id("resumed")).to_contain_text("Your draft")
    expect(page.get_by_role("heading", name="Greenhouse gas emissions")).to_be_visible()
    expect(page.get_by_label("Scope 1 emissions")).to_have_value("1200.5")
    expect(page.get_by_label("Total emissions")).to_have_value("2000.5")
    page.get_by_role("button", name="Back").click()
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_label("Legal company name")).to_have_value("Acme Steel GmbH")
    expect(page.get_by_label("Country of registration")).to_have_value("0")
    page.go_back()  # the browser's Back goes to the previous page of the form too
    expect(page.get_by_role("heading", name="Reporting period")).to_be_visible()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()

    # page 4: a repeating group of sites, shown once the supplier says there are several
    expect(page.get_by_role("heading", name="Production sites")).to_be_visible()
    sites = page.locator("[data-field=sites]")
    expect(sites).to_have_count(0)
    page.get_by_role("group", name="Do you make our products at more than one site?").get_by_role("radio", name="Yes").check()
    expect(sites).to_be_visible()
    add = page.get_by_role("button", name="Add a row to Sites")
    add.click()
    add.click()
    add.click()
    expect(first_rows(page)).to_have_count(3)
    expect(first_rows(page).nth(2).get_by_label("Site name")).to_be_focused()
    rows = first_rows(page)
    rows.nth(0).get_by_label("Site name").fill("Duisburg works")
    rows.nth(0).get_by_label("Country").select_option(label="DE")
    expect(rows.nth(0).get_by_label("Renewable share")).to_have_count(0)
    rows.nth(0).get_by_label("Electricity used").fill("5200")
    expect(rows.nth(0).get_by_label("Renewable share")).to_be_visible()
    rows.nth(0).get_by_label("Renewable share").fill("35")
    rows.nth(0).get_by_label("Site scope 1 emissions").fill("700")
    rows.nth(1).get_by_label("Site name").fill("Temporary row")
    rows.nth(2).get_by_label("Site name").fill("Katowice plant")
    rows.nth(2).get_by_label("Country").select_option(label="PL")
    rows.nth(2).get_by_label("Site scope 1 emissions").fill("450")
    page.get_by_role("button", name="Remove row 2 of Sites").click()
    expect(first_rows(page)).to_have_count(2)
    expect(first_rows(page).nth(1).get_by_label("Site name")).to_have_value("Katowice plant")
    shot(page, "public-form-repeating-group")
    page.get_by_role("button", name="Next").click()

    # page 5: the evidence file, with its limits said before the upload
    expect(page.get_by_role("heading", name="Evidence and sign-off")).to_be_visible()
    expect(page.get_by_test_id("upload-limits")).to_have_text("PDF, at most 10 MB")
    pdf = tmp_path / "verification-2025-q1.pdf"
    pdf.write_bytes(PDF)
    page.get_by_label("Verification statement or ISO 14064 certificate").set_input_files(str(pdf))
    expect(page.get_by_test_id("uploaded-file")).to_have_text("verification-2025-q1.pdf")
    page.get_by_role("group", name="Have these figures been verified by a third party?").get_by_role("radio", name="Yes").check()
    page.get_by_label("Verification body").fill("TÜV Rheinland")
    page.get_by_label("Name of the person signing off").fill("Jana Weber")
    page.get_by_role("group", name="I confirm the figures are complete and correct").get_by_role("radio", name="Yes").check()
    shot(page, "public-form-last-page")
    page.get_by_role("button", name="Submit").click()

    confirmation = page.get_by_test_id("confirmation")
    expect(confirmation).to_contain_text("Thank you! Your answers were received.")
    shot(page, "public-form-confirmation")

    # what the server kept: typed answers, the one site removed, the file by reference
    answers = server.api("GET", "/api/responses?form=supplier_emissions_v2&page_size=200", token=server.token())
    mine = [r for r in answers["data"] if r["recipient"].get("company") == "Acme Steel GmbH" and r["answers"].get("verifier") == "TÜV Rheinland"]
    assert len(mine) == 1
    got = mine[0]["answers"]
    assert got["scope_1"] == 1200.5 and got["employees"] == 420 and got["country"] == "DE"
    assert got.get("scope_3") is None  # hidden again before submitting: not kept
    assert [s["site_name"] for s in got["sites"]] == ["Duisburg works", "Katowice plant"]
    assert got["sites"][0]["renewable_share"] == 35
    assert got["certificate"]["name"] == "verification-2025-q1.pdf" and got["certificate"]["size"] == len(PDF)

    # the link is used now, and says so
    page.reload()
    expect(page.get_by_test_id("link-gone")).to_contain_text("This form was already submitted")


def test_answers_at_fault_are_shown_at_their_fields_on_a_phone(page: Any, server: Server) -> None:
    page.set_viewport_size(PHONE)
    token, _ = send_link(server)
    page.goto(f"/f/{token}")

    # nothing answered: Next stays on the page, says what is missing and focuses the first field
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Page 1 of 5")).to_be_visible()
    company = page.get_by_label("Legal company name")
    expect(company).to_be_focused()
    expect(company).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[data-field=company_name]").get_by_test_id("field-error")).to_have_text("This field is required")
    expect(page.get_by_test_id("error-summary")).to_contain_text("4 answers need attention")
    page.get_by_label("Contact email").fill("jana@")
    page.get_by_label("Contact person").click()  # leaving a field checks what it holds
    expect(page.locator("[data-field=contact_email]").get_by_test_id("field-error")).to_have_text("Please enter a valid email address")
    shot(page, "public-form-phone-required")
    expect(page.get_by_test_id("draft-status")).to_contain_text("Draft saved")  # kept on its own
    page.goto("about:blank")

    # the server's checks on submission: a required answer left out on an earlier page, and a
    # total that does not add up (a rule across fields, which only the server checks)
    save_draft(server, token, {
        "company_name": "Acme Steel GmbH", "country": "DE", "contact_email": "jana@acme.example",
        "period_start": "2025-01-01", "period_end": "2025-03-31", "reporting_standard": "ghg_protocol",
        "scope_1": 1200.5, "scope_2": 800, "scope_2_method": "market", "reports_scope_3": False,
        "total_emissions": 1999, "has_sites": False, "signatory": "Jana Weber", "confirm": True,
    })
    page.goto(f"/f/{token}#evidence")
    expect(page.get_by_role("heading", name="Evidence and sign-off")).to_be_visible()
    expect(page.get_by_text("Page 5 of 5")).to_be_visible()
    page.get_by_role("button", name="Submit").click()
    # the first answer at fault is on page 1: the form goes there and focuses it
    expect(page.get_by_role("heading", name="Your company")).to_be_visible()
    contact = page.get_by_label("Contact person")
    expect(contact).to_be_focused()
    expect(page.locator("[data-field=contact_name]").get_by_test_id("field-error")).to_have_text("This field is required")
    summary = page.get_by_test_id("error-summary")
    expect(summary).to_contain_text("2 answers need attention")
    expect(summary).to_contain_text("Total emissions: Total emissions must equal Scope 1 + Scope 2")
    shot(page, "public-form-phone-server-errors")
    contact.fill("Jana Weber")
    expect(page.locator("[data-field=contact_name]").get_by_test_id("field-error")).to_have_count(0)
    summary.get_by_role("button", name=re.compile("^Total emissions")).click()
    expect(page.get_by_role("heading", name="Greenhouse gas emissions")).to_be_visible()
    total = page.get_by_label("Total emissions")
    expect(total).to_be_focused()
    expect(page.locator("[data-field=total_emissions]").get_by_test_id("field-error")).to_contain_text("must equal Scope 1 + Scope 2")
    total.fill("2000.5")
    expect(page.get_by_test_id("error-summary")).to_have_count(0)
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_test_id("confirmation")).to_be_visible()
    shot(page, "public-form-phone-confirmation")


def test_a_file_above_the_limit_is_refused_before_it_is_sent(page: Any, server: Server, tmp_path: Path) -> None:
    token, _ = send_link(server)
    page.goto(f"/f/{token}#evidence")
    big = tmp_path / "scan.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024 + 1))
    page.get_by_label("Verification statement or ISO 14064 certificate").set_input_files(str(big))
    expect(page.locator("[data-field=certificate]").get_by_test_id("field-error")).to_contain_text("The file is too large")
    other = tmp_path / "figures.docx"
    other.write_bytes(b"PK\x03\x04 not a pdf")
    page.get_by_label("Verification statement or ISO 14064 certificate").set_input_files(str(other))
    expect(page.locator("[data-field=certificate]").get_by_test_id("field-error")).to_contain_text("please upload PDF")
    expect(page.get_by_test_id("uploaded-file")).to_have_count(0)


def test_a_supplier_passes_the_form_on_to_a_colleague(page: Any, server: Server) -> None:
    token, _ = send_link(server)
    page.goto(f"/f/{token}")
    page.get_by_label("Legal company name").fill("Acme Steel GmbH")
    page.get_by_role("button", name="Pass on to a colleague").click()
    dialog = page.get_by_role("dialog", name="Pass the form on to a colleague")
    dialog.get_by_label("Colleague's email").fill("piotr@acme.example")
    dialog.get_by_label("Their name").fill("Piotr Nowak")
    dialog.get_by_role("button", name="Pass it on").click()
    expect(page.get_by_test_id("delegated")).to_contain_text("piotr@acme.example")
    page.reload()
    expect(page.get_by_test_id("link-gone")).to_contain_text("This form was passed on to a colleague")


def test_expired_and_unknown_links_say_so(page: Any, server: Server) -> None:
    token, request_id = send_link(server)
    # time passes: the link's expiry is behind us (the campaign's deadline moved, as in the forms tests)
    with sqlite3.connect(server.data_dir / "datacollect.db") as db:
        db.execute("UPDATE form_requests SET expires_at = '2025-01-31 17:00:00.000000' WHERE id = ?", (request_id,))
    page.goto(f"/f/{token}")
    gone = page.get_by_test_id("link-gone")
    expect(gone).to_contain_text("This link has expired")
    expect(gone).to_contain_text("answers are no longer taken")
    shot(page, "public-form-expired")
    page.set_viewport_size(PHONE)
    page.goto("/f/" + "x" * 43)
    expect(page.get_by_test_id("link-gone")).to_contain_text("This link is not valid")
    expect(page.get_by_test_id("link-gone")).to_contain_text("copied the whole link")
    shot(page, "public-form-phone-unknown-link")
