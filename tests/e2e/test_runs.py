"""The runs page and a run on its canvas: filters, the failed step's error, retry from it."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import Server, login, shot
from tests.e2e.helpers import Builder


def test_a_failed_run_shows_its_error_and_retries_from_the_failed_node(page: Any, server: Server, tmp_path: Any) -> None:
    folder = tmp_path / "not-yet"
    wid = f"export-{uuid.uuid4().hex[:8]}"
    token = server.token()
    server.api("POST", "/api/workflows", {
        "id": wid,
        "name": "Export totals",
        "nodes": [
            {"id": "start", "type": "ManualTrigger", "config": {}, "position": {"x": 0, "y": 0}},
            {"id": "double", "type": "Calculator", "config": {"formula": "item.a * 2", "output_field": "a2"}, "position": {"x": 300, "y": 0}},
            {"id": "store", "type": "DatabaseWrite", "config": {"connection": f"sqlite:///{folder}/out.db", "table": "totals", "create_table": True},
             "position": {"x": 600, "y": 0}, "retry": {"max_attempts": 1, "backoff_seconds": 0}},
        ],
        "edges": [{"from": "start", "to": "double"}, {"from": "double", "to": "store"}],
    }, token=token)
    run = server.api("POST", f"/api/workflows/{wid}/run", {"data": {"a": 21}, "wait": True}, token=token)
    assert run["status"] == "failed"

    login(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Runs").click()
    page.get_by_role("combobox", name="Status").select_option("failed")
    page.get_by_role("combobox", name="Workflow").select_option(wid)
    expect(page).to_have_url(re.compile("status=failed"))
    rows = page.get_by_test_id("run-row")
    expect(rows).to_have_count(1)
    rows.first.click()

    b = Builder(page)
    expect(b.node("store").get_by_test_id("node-run-status")).to_have_attribute("data-status", "failed")
    expect(b.node("double").get_by_test_id("node-run-status")).to_have_attribute("data-status", "completed")
    # The failed node is selected, its error and input shown.
    expect(page.get_by_test_id("node-error")).to_contain_text("out.db")
    expect(page.get_by_role("region", name="Input").get_by_test_id("items-table")).to_contain_text("42")
    shot(page, "run-failed")

    folder.mkdir()
    page.get_by_role("button", name="Retry from store").click()
    expect(page.locator("header").get_by_text("completed", exact=True)).to_be_visible(timeout=30_000)
    expect(b.node("store").get_by_test_id("node-run-status")).to_have_attribute("data-status", "completed")
    shot(page, "run-retried")
    # back to the list as it was left: the same filters
    page.get_by_role("button", name="Back to runs").click()
    expect(page).to_have_url(re.compile(rf"/runs\?(?=.*status=failed)(?=.*workflow_id={wid})"))
    expect(page.get_by_role("combobox", name="Status")).to_have_value("failed")


def test_one_node_is_tested_on_output_pinned_from_an_earlier_run(page: Any, server: Server) -> None:
    wid = f"pinning-{uuid.uuid4().hex[:8]}"
    token = server.token()
    server.api("POST", "/api/workflows", {
        "id": wid,
        "name": "Pinning",
        "nodes": [
            {"id": "start", "type": "ManualTrigger", "config": {}, "position": {"x": 0, "y": 0}},
            {"id": "double", "type": "Calculator", "config": {"formula": "item.a * 2", "output_field": "a2"}, "position": {"x": 300, "y": 0}},
            {"id": "plus", "type": "Calculator", "config": {"formula": "item.a2 + 1", "output_field": "a3"}, "position": {"x": 600, "y": 0}},
        ],
        "edges": [{"from": "start", "to": "double"}, {"from": "double", "to": "plus"}],
    }, token=token)
    login(page)
    page.goto(f"/workflows/{wid}")
    b = Builder(page)
    page.get_by_test_id("open-run").click()
    page.get_by_test_id("run-input").fill('{"a": 5}')
    page.get_by_test_id("start-run").click()
    expect(page.get_by_test_id("run-strip")).to_contain_text("completed")
    # Pin what "double" put out, change "plus", and test "plus" alone on the pinned items.
    b.open("double")
    page.get_by_role("tab", name="Data").click()
    page.get_by_role("button", name="Pin output").click()
    expect(b.node("double").get_by_label("pinned output")).to_be_visible()
    b.open("plus")
    formula = b.field("formula").locator("textarea")
    formula.fill("item.a2 + 100")
    b.click_node("plus")
    page.get_by_role("toolbar", name="Actions for plus").get_by_role("button", name="Test this node").click()
    dialog = page.get_by_role("dialog", name="Test node plus")
    expect(dialog).to_contain_text("double")
    dialog.get_by_test_id("start-run").click()
    expect(page.get_by_test_id("run-strip")).to_contain_text("completed")
    b.open("plus")
    page.get_by_role("tab", name="Data").click()
    expect(page.get_by_role("region", name="Output").get_by_test_id("items-table")).to_contain_text("110")
    shot(page, "test-one-node")
    runs = server.api("GET", f"/api/runs?workflow_id={wid}", token=token)["data"]
    assert len(runs) == 2


def test_a_node_with_more_items_than_the_run_holds_says_so_and_loads_the_rest(page: Any, server: Server) -> None:
    wid = f"many-{uuid.uuid4().hex[:8]}"
    token = server.token()
    server.api("POST", "/api/workflows", {
        "id": wid,
        "name": "Many rows",
        "nodes": [
            {"id": "start", "type": "ManualTrigger", "config": {}, "position": {"x": 0, "y": 0}},
            {"id": "double", "type": "Calculator", "config": {"formula": "item.n * 2", "output_field": "twice"}, "position": {"x": 300, "y": 0}},
        ],
        "edges": [{"from": "start", "to": "double"}],
    }, token=token)
    run = server.api("POST", f"/api/workflows/{wid}/run", {"data": [{"n": i} for i in range(1500)], "wait": True}, token=token)
    assert run["status"] == "completed"

    login(page)
    page.goto(f"/runs/{run['id']}")
    b = Builder(page)
    b.click_node("double")
    page.get_by_role("tab", name="Data").click()
    output = page.get_by_role("region", name="Output")
    expect(output).to_contain_text("(1,500 items)")
    expect(output.get_by_test_id("items-partial")).to_contain_text("1,000 of 1,500 items loaded.")
    output.get_by_role("button", name="Load 500 more").click()
    expect(output.get_by_test_id("items-partial")).to_have_count(0)
    output.get_by_role("tab", name="JSON").click()
    expect(output.get_by_test_id("items-json")).to_contain_text('"twice": 2998')
    shot(page, "run-many-items")
