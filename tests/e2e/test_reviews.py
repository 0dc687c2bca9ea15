"""The review dashboard, as a reviewer works it: suppliers answer a quarterly form, a workflow
checks each answer and puts it in the team's review queue, and the reviewer goes through the
queue with the keyboard — sends one answer back with a comment on the figure at fault, approves
the other — and each waiting run goes on down the port of its decision. Then bulk decisions on
a selection, the metrics, and who may see the page.

Everything is set up as a user would: the form, the team and the workflow through the API, the
answers through each supplier's personal link.
"""

from __future__ import annotations

import re
import time
import urllib.parse
import uuid
from datetime import UTC, datetime
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server, login, shot
from tests.e2e.helpers import Builder

PASSWORD = "reviewer-password-1"


def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {check.__doc__ or check}")
        time.sleep(0.2)


class Desk:
    """A review team with one reviewer, a small quarterly form, and the workflow that reviews its answers."""

    def __init__(self, server: Server, tag: str) -> None:
        self.server = server
        self.tag = tag
        self.reviewer = f"rita.{tag}@example.com"
        self.team = f"Sustainability {tag}"
        self.form = f"figures_{tag}"
        self.workflow = f"figures-review-{tag}"
        admin = server.token()
        server.add_user(self.reviewer, "reviewer", PASSWORD)
        server.api("POST", "/api/teams", {"name": self.team}, token=admin)
        server.api("PUT", f"/api/teams/{q(self.team)}/members/{q(self.reviewer)}", {"role": "member"}, token=admin)
        server.api("POST", "/api/forms", {
            "name": self.form, "version": 1, "title": "Quarterly figures",
            "pages": [{"id": "figures", "title": "Your figures", "fields": [
                {"id": "company_name", "type": "text", "label": "Company", "required": True},
                {"id": "co2_t", "type": "number", "label": "CO2 emissions (t)", "required": True},
                {"id": "energy_mwh", "type": "number", "label": "Energy used (MWh)"},
            ]}],
        }, token=admin)
        server.api("POST", "/api/workflows", laid_out({
            "id": self.workflow, "name": f"Review quarterly figures {tag}", "active": True,
            "nodes": [
                {"id": "answer", "type": "FormTrigger", "config": {"form_id": f"{self.form}_v1"}},
                {"id": "check", "type": "DataValidator", "config": {"rules": [
                    {"type": "range", "field": "co2_t", "min": 0, "max": 5000,
                     "message": "More than 5,000 t: far above what this supplier usually reports"}]}},
                {"id": "review", "type": "Review", "config": {
                    "team": self.team, "assign": "round_robin", "title": "{{ item.company_name }}",
                    "priority": "item.co2_t > 5000 and 'high' or 'normal'", "sla": "2d",
                    "on_changes_requested": "continue"}},
                {"id": "to_sap", "type": "DataMapper", "config": {"mapping_rules": [
                    {"from": "company_name", "to": "supplier"}, {"from": "co2_t", "to": "co2_tonnes"}]}},
                {"id": "declined", "type": "DataMapper", "config": {"mapping_rules": [
                    {"from": "company_name", "to": "supplier"}]}},
                {"id": "ask_again", "type": "DataMapper", "config": {"mapping_rules": [
                    {"from": "company_name", "to": "supplier"}]}},
            ],
            "edges": [
                {"from": "answer", "to": "check"}, {"from": "check", "to": "review"},
                {"from": "review", "to": "to_sap", "condition": "approved"},
                {"from": "review", "to": "declined", "condition": "rejected"},
                {"from": "review", "to": "ask_again", "condition": "changes_requested"},
            ],
        }), token=admin)

    def close(self) -> None:
        self.server.api("POST", f"/api/workflows/{self.workflow}/deactivate", token=self.server.token())

    def answer(self, company: str, co2_t: float, energy_mwh: float) -> str:
        """The supplier gets a personal link and answers through it; answers the link's token."""
        campaign = self.server.api("POST", f"/api/forms/{self.form}_v1/send", {
            "delivery": "portal", "name": "Q1 figures",
            "recipients": [{"email": f"{company.split()[0].lower()}.{self.tag}@supplier.example", "name": company}],
        }, token=self.server.token())
        token = campaign["links"][0]["url"].rsplit("/", 1)[1]
        self.server.api("POST", f"/api/public/forms/{token}/submit",
                        {"answers": {"company_name": company, "co2_t": co2_t, "energy_mwh": energy_mwh}})
        return str(token)

    def queue(self, **query: str) -> list[dict[str, Any]]:
        path = "/api/reviews/items?" + urllib.parse.urlencode({"team": self.team, **query})
        return list(self.server.api("GET", path, token=self.server.token(self.reviewer, PASSWORD))["data"])

    def run_of(self, title: str) -> dict[str, Any]:
        [item] = [i for i in self.queue(status="pending,in_review,approved,rejected,changes_requested") if i["title"] == title]
        return dict(self.server.api("GET", f"/api/runs/{item['run_id']}", token=self.server.token()))


def laid_out(definition: dict[str, Any]) -> dict[str, Any]:
    """Positions as the builder would keep them: left to right, the three outcomes stacked."""
    at = {"answer": (0, 120), "check": (260, 120), "review": (520, 120), "to_sap": (800, 0),
          "declined": (800, 120), "ask_again": (800, 240)}
    for n in definition["nodes"]:
        x, y = at[n["id"]]
        n["position"] = {"x": x, "y": y}
    return definition


def q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def ran(run: dict[str, Any]) -> set[str]:
    return {a["node_id"] for a in run["activations"] if a["status"] == "completed"}


@pytest.fixture
def desk(server: Server) -> Any:
    d = Desk(server, uuid.uuid4().hex[:6])
    yield d
    d.close()


def test_a_reviewer_works_the_queue_by_keyboard_and_each_run_goes_on_down_its_decision(page: Any, server: Server, desk: Desk) -> None:
    acme = desk.answer("Acme Steel", 9000, 5200)
    desk.answer("Birch Plastics", 1200, 800)
    eventually(lambda: len(desk.queue()) == 2)

    login(page, desk.reviewer, PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reviews").click()
    rows = page.get_by_test_id("review-row")
    expect(rows).to_have_count(2)
    # the answer with the issue is more urgent: it comes first and opens by itself
    expect(rows.first).to_contain_text("Acme Steel")
    expect(rows.first).to_contain_text("1 issue")
    detail = page.get_by_test_id("review-detail")
    expect(detail.get_by_role("heading", name="Acme Steel")).to_be_visible()
    co2 = detail.locator("[data-testid=review-field][data-field=co2_t]")
    expect(co2).to_have_attribute("data-has-issue", "true")
    expect(co2).to_contain_text("More than 5,000 t")
    expect(detail.get_by_test_id("review-assignee")).to_contain_text(f"You ({desk.reviewer})")
    shot(page, "reviews-queue")

    # j and k move through the queue
    page.keyboard.press("j")
    expect(detail.get_by_role("heading", name="Birch Plastics")).to_be_visible()
    expect(rows.nth(1)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("k")
    expect(detail.get_by_role("heading", name="Acme Steel")).to_be_visible()

    # c: request changes; the field at fault comes first and has the focus
    page.keyboard.press("c")
    dialog = page.get_by_role("dialog", name="Request changes on “Acme Steel”")
    expect(dialog.get_by_label("Comment on CO2 emissions (t)")).to_be_focused()
    page.keyboard.type("Please check: 9,000 t is far above last quarter")
    shot(page, "reviews-request-changes")
    page.keyboard.press("Control+Enter")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("status").filter(has_text="Changes requested")).to_be_visible()

    # the item left the queue and the next one is open: a approves it
    expect(rows).to_have_count(1)
    expect(detail.get_by_role("heading", name="Birch Plastics")).to_be_visible()
    page.keyboard.press("a")
    expect(page.get_by_role("status").filter(has_text="Approved")).to_be_visible()
    expect(page.get_by_text("Nothing assigned to you")).to_be_visible()
    shot(page, "reviews-queue-done")

    # each waiting run went on down the port of its decision
    birch = eventually(lambda: (r := desk.run_of("Birch Plastics"))["status"] == "completed" and r)
    assert "to_sap" in ran(birch) and not {"declined", "ask_again"} & ran(birch)
    sent_back = eventually(lambda: (r := desk.run_of("Acme Steel"))["status"] == "completed" and r)
    assert "ask_again" in ran(sent_back) and not {"to_sap", "declined"} & ran(sent_back)

    # the decisions are in the Decided view, with their trail
    page.get_by_role("tab", name="Decided").click()
    expect(rows).to_have_count(2)
    rows.filter(has_text="Acme Steel").click()
    expect(detail.locator("[data-testid=trail-event][data-action=changes_requested]")).to_contain_text(desk.reviewer)
    expect(detail.locator("[data-testid=review-field][data-field=co2_t] [data-testid=field-comment]")).to_have_text(
        "Please check: 9,000 t is far above last quarter")
    shot(page, "reviews-decided")

    # and the supplier's link opens again with the comment beside the figure
    page.goto(f"/f/{acme}")
    expect(page.get_by_text("Please check: 9,000 t is far above last quarter")).to_be_visible()
    shot(page, "reviews-supplier-sees-comment")


def test_a_reviewer_rejects_with_a_reason_and_approves_a_selection_in_bulk(page: Any, server: Server, desk: Desk) -> None:
    for i, company in enumerate(("Cedar Metals", "Delta Glass", "Elm Paper")):
        desk.answer(company, 1000 + i, 500)
    eventually(lambda: len(desk.queue()) == 3)

    login(page, desk.reviewer, PASSWORD)
    page.goto("/reviews")
    rows = page.get_by_test_id("review-row")
    expect(rows).to_have_count(3)

    # r asks for a reason before it rejects
    first = page.get_by_test_id("review-detail").get_by_role("heading", level=2).inner_text()
    page.keyboard.press("r")
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Reject").click()
    expect(dialog.get_by_text("A rejection needs a reason")).to_be_visible()
    dialog.get_by_label("Reason").fill("Figures are for the wrong quarter")
    dialog.get_by_role("button", name="Reject").click()
    expect(rows).to_have_count(2)

    # x selects the open item; the other is ticked by hand; both are approved at once
    page.keyboard.press("x")
    rows.nth(1).get_by_role("checkbox").check()
    bar = page.get_by_test_id("bulk-bar")
    expect(bar).to_contain_text("2 items selected")
    bar.get_by_role("button", name="Approve…").click()
    page.get_by_role("dialog").get_by_label("Reason").fill("Checked against the invoices")
    page.get_by_role("button", name="Approve all").click()
    expect(page.get_by_test_id("bulk-result")).to_contain_text("2 items approved")
    page.get_by_role("button", name="Close", exact=True).last.click()
    expect(page.get_by_text("Nothing assigned to you")).to_be_visible()

    rejected = eventually(lambda: (r := desk.run_of(first))["status"] == "completed" and r)
    assert "declined" in ran(rejected) and "to_sap" not in ran(rejected)
    for item in desk.queue(status="approved"):
        assert item["reason"] == "Checked against the invoices"

    # the metrics count what was decided, per reviewer
    page.get_by_role("tab", name="Metrics").click()
    metrics = page.get_by_test_id("review-metrics")
    expect(metrics.get_by_test_id("metric-card").filter(has_text="Decided")).to_contain_text("3")
    expect(metrics.get_by_test_id("reviewer-row").filter(has_text=desk.reviewer)).to_contain_text("67%")
    today = datetime.now(UTC).date().isoformat()  # the last bar of the chart is today's
    expect(metrics.get_by_test_id("per-day").get_by_role("listitem").last).to_have_attribute(
        "aria-label", re.compile(rf"^{today}: \d+ queued, 2 approved, 1 rejected, 0 sent back$"))
    shot(page, "reviews-metrics")


def test_the_detail_puts_last_periods_answer_beside_this_one_with_the_change(page: Any, server: Server, desk: Desk) -> None:
    desk.answer("Fir Timber", 1000, 400)
    [last_quarter] = eventually(lambda: desk.queue())
    server.api("POST", f"/api/reviews/items/{last_quarter['id']}/approve", {},
               token=server.token(desk.reviewer, PASSWORD))
    desk.answer("Fir Timber", 1500, 400)  # the same supplier, next quarter's campaign
    eventually(lambda: len(desk.queue(status="pending")) == 1)

    login(page, desk.reviewer, PASSWORD)
    page.goto("/reviews")
    detail = page.get_by_test_id("review-detail")
    expect(detail.get_by_role("columnheader", name="Last period")).to_be_visible()
    co2 = detail.locator("[data-testid=review-field][data-field=co2_t]")
    expect(co2).to_contain_text("1,500")
    expect(co2).to_contain_text("1,000")
    expect(co2.get_by_test_id("field-delta")).to_have_text("+50%")
    expect(detail.locator("[data-testid=review-field][data-field=energy_mwh] [data-testid=field-delta]")).to_have_text("0%")
    shot(page, "reviews-last-period")


def test_the_builder_offers_the_teams_and_forms_a_review_workflow_names(page: Any, server: Server, desk: Desk) -> None:
    login(page)
    page.goto(f"/workflows/{desk.workflow}")
    builder = Builder(page)
    builder.box(builder.node("answer"))  # the canvas has fitted the workflow in view

    def choices(node_id: str, field: str) -> list[str]:
        builder.open(node_id)
        box = builder.field(field).locator("input")
        expect(box).to_have_attribute("list", re.compile(".+"))
        options = page.locator(f"datalist[id='{box.get_attribute('list')}'] option")
        expect(options.first).to_be_attached()
        return [o.get_attribute("value") for o in options.all()]

    assert desk.team in choices("review", "team")
    assert {desk.form, f"{desk.form}_v1"} <= set(choices("answer", "form_id"))
    shot(page, "builder-review-team-choices")


def test_a_builder_turns_review_on_for_a_form_and_its_answers_wait_in_the_queue(page: Any, server: Server, desk: Desk) -> None:
    desk.close()  # no workflow this time: the form reviews its answers by itself
    login(page)
    page.goto(f"/forms/{desk.form}")
    page.get_by_test_id("form-card").click()
    review = page.get_by_test_id("form-review-settings")
    review.get_by_label("Review each response").click()
    review.get_by_label("Team").fill(desk.team)
    review.get_by_label("Who reviews").select_option(label="The team's members in turn")
    review.get_by_label("Time to review").fill("2d")
    review.get_by_label("Shown in the queue as").fill("{{ item.company_name }} (by form)")
    shot(page, "form-review-settings")
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_test_id("builder-status")).to_contain_text(f"{desk.form}_v2")
    saved = server.api("GET", f"/api/forms/{desk.form}_v2", token=server.token())
    assert saved["schema"]["settings"]["review"].items() >= {
        "team": desk.team, "assign": "round_robin", "sla": "2d", "title": "{{ item.company_name }} (by form)"}.items()

    campaign = server.api("POST", f"/api/forms/{desk.form}_v2/send", {
        "delivery": "portal", "recipients": [{"email": f"gale.{desk.tag}@supplier.example", "name": "Gale"}],
    }, token=server.token())
    token = campaign["links"][0]["url"].rsplit("/", 1)[1]
    server.api("POST", f"/api/public/forms/{token}/submit",
               {"answers": {"company_name": "Gale Textiles", "co2_t": 300, "energy_mwh": 90}})
    [item] = eventually(lambda: desk.queue())
    assert (item["title"], item["source"], item["workflow_id"]) == ("Gale Textiles (by form)", "form", None)

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Email").fill(desk.reviewer)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Reviews")).to_be_visible()
    page.goto("/reviews")
    expect(page.get_by_test_id("review-detail").get_by_role("heading", name="Gale Textiles (by form)")).to_be_visible()
    page.keyboard.press("a")
    expect(page.get_by_text("Nothing assigned to you")).to_be_visible()
    responses = server.api("GET", f"/api/responses?form={desk.form}", token=server.token())["data"]
    assert [r["status"] for r in responses] == ["approved"]


def test_a_run_waiting_for_a_review_links_to_its_items_in_the_queue(page: Any, server: Server, desk: Desk) -> None:
    desk.answer("Hazel Foods", 700, 100)
    [item] = eventually(lambda: desk.queue())
    login(page)
    page.goto(f"/runs/{item['run_id']}")
    builder = Builder(page)
    builder.box(builder.node("review"))
    builder.open("review")
    page.get_by_role("tab", name="Data").click()
    page.get_by_role("link", name="Open its items in Reviews").click()
    expect(page.get_by_test_id("run-filter")).to_contain_text(item["run_id"][:8])
    rows = page.get_by_test_id("review-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Hazel Foods")


def test_a_viewer_does_not_see_the_review_dashboard(page: Any, server: Server) -> None:
    email = f"victor.{uuid.uuid4().hex[:6]}@example.com"
    server.add_user(email, "viewer", PASSWORD)
    login(page, email, PASSWORD)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Reviews")).to_have_count(0)
    page.goto("/reviews")
    expect(page.get_by_text("You do not have access to this page")).to_be_visible()
