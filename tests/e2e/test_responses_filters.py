"""The responses list keeps its filters: a reviewer narrows the list, opens a response, comes back
(by the browser's back button, by the page's back link, or by reloading) and finds the same
filters set and the same rows listed."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import Server, login, shot
from tests.e2e.test_forms_responses import answers
from tests.e2e.test_public_form import send_link


def listed(page: Any) -> list[str]:
    """The responses the list shows, by the address each row opens."""
    rows = page.get_by_test_id("response-row")
    return sorted(rows.nth(i).get_by_role("link").get_attribute("href") for i in range(rows.count()))


def expect_filters_kept(page: Any, email: str, rows: list[str]) -> None:
    expect(page.get_by_label("Recipient email")).to_have_value(email)
    expect(page.get_by_label("Status")).to_have_value("submitted")
    expect(page.get_by_label("Form", exact=True)).to_have_value("supplier_emissions")
    expect(page.get_by_test_id("response-row")).to_have_count(len(rows))
    assert listed(page) == rows


def test_the_responses_list_keeps_its_filters_after_opening_a_response(page: Any, server: Server) -> None:
    tag = uuid.uuid4().hex[:6]
    anna = f"anna.{tag}@acme.example"
    ids = []
    for email in (anna, anna, anna, f"piotr.{tag}@plastics.example"):
        token, _ = send_link(server, email)
        ids.append(server.api("POST", f"/api/public/forms/{token}/submit", {"answers": answers()})["response_id"])
    server.api("PUT", f"/api/responses/{ids[0]}", {"status": "approved"}, token=server.token())
    wanted = sorted(f"/responses/{i}" for i in ids[1:3])  # Anna's two responses still submitted

    login(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Responses").click()
    page.get_by_label("Form", exact=True).select_option(label="Supplier emissions questionnaire")
    page.get_by_label("Status").select_option(label="submitted")
    page.get_by_label("Recipient email").fill(anna)
    expect(page.get_by_test_id("response-row")).to_have_count(2)
    assert listed(page) == wanted
    expect(page).to_have_url(re.compile(r"recipient="))

    # the browser's back button
    page.get_by_test_id("response-row").first.get_by_role("link").click()
    expect(page.get_by_role("link", name="Back to responses")).to_be_visible()
    page.go_back()
    expect_filters_kept(page, anna, wanted)
    page.wait_for_timeout(600)  # longer than the search box waits before it writes: nothing is written back
    expect_filters_kept(page, anna, wanted)

    # the page's back link
    page.get_by_test_id("response-row").last.get_by_role("link").click()
    expect(page.get_by_test_id("trail")).to_be_visible()
    page.get_by_role("link", name="Back to responses").click()
    expect_filters_kept(page, anna, wanted)
    shot(page, "responses-filters-kept")

    # a reload
    page.reload()
    expect_filters_kept(page, anna, wanted)

    # typing goes on from the kept text, and clearing the filters empties the box for good
    page.get_by_label("Recipient email").fill(f"piotr.{tag}@plastics.example")
    expect(page.get_by_test_id("response-row")).to_have_count(1)

    # a filter chosen while the search box still waits to write stays chosen
    page.get_by_label("Recipient email").fill(anna)
    page.get_by_label("Status").select_option(label="approved")
    page.wait_for_timeout(600)
    expect(page.get_by_label("Status")).to_have_value("approved")
    expect(page.get_by_label("Recipient email")).to_have_value(anna)
    expect(page.get_by_test_id("response-row")).to_have_count(1)
    assert listed(page) == [f"/responses/{ids[0]}"]
    page.get_by_role("button", name="Clear filters").click()
    expect(page.get_by_label("Recipient email")).to_have_value("")
    page.wait_for_timeout(600)
    expect(page.get_by_label("Recipient email")).to_have_value("")
    expect(page.get_by_label("Status")).to_have_value("")
