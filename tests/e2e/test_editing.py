"""Editing in the builder and managing workflows: keyboard, history, versions, files, roles."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import Server, login, shot
from tests.e2e.helpers import Builder


def small_workflow(server: Server, name: str = "Totals") -> str:
    wid = f"totals-{uuid.uuid4().hex[:8]}"
    server.api("POST", "/api/workflows", {
        "id": wid,
        "name": name,
        "nodes": [
            {"id": "start", "type": "ManualTrigger", "config": {}, "position": {"x": 0, "y": 0}},
            {"id": "total", "type": "Calculator", "config": {"formula": "item.a + item.b", "output_field": "sum"}, "position": {"x": 320, "y": 0}},
        ],
        "edges": [{"from": "start", "to": "total"}],
    }, token=server.token())
    return wid


def test_keyboard_adds_copies_pastes_deletes_undoes_and_redoes(page: Any, server: Server) -> None:
    wid = small_workflow(server)
    login(page)
    page.goto(f"/workflows/{wid}")
    b = Builder(page)
    nodes = page.get_by_test_id("canvas-node")
    expect(nodes).to_have_count(2)
    # A palette entry is a button: Enter adds the node after the selected one, connected.
    b.node("total").click()
    b.click_node("total")
    page.get_by_test_id("palette-search").fill("wait")
    page.locator("[data-testid=palette-item][data-node-type=Wait]").focus()
    page.keyboard.press("Enter")
    expect(nodes).to_have_count(3)
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    expect(page.get_by_test_id("save-state")).to_contain_text("Unsaved changes")
    # Copy and paste the new node, then delete the copy with the Delete key.
    b.click_node("wait_1")
    page.locator(".react-flow__pane").focus()
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    expect(nodes).to_have_count(4)
    expect(b.node("wait_2")).to_be_visible()
    b.click_node("wait_2")
    page.keyboard.press("Delete")
    expect(nodes).to_have_count(3)
    # Undo brings it back, redo takes it away again.
    page.keyboard.press("Control+z")
    expect(nodes).to_have_count(4)
    page.keyboard.press("Control+Shift+z")
    expect(nodes).to_have_count(3)
    page.get_by_role("button", name=re.compile("^Undo")).click()
    expect(nodes).to_have_count(4)
    shot(page, "editing-keyboard")


def test_unsaved_changes_warn_before_leaving(page: Any, server: Server) -> None:
    wid = small_workflow(server)
    login(page)
    page.goto(f"/workflows/{wid}")
    page.get_by_test_id("workflow-name").fill("Totals, renamed")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Runs").click()
    dialog = page.get_by_role("dialog", name="Leave without saving?")
    expect(dialog).to_be_visible()
    shot(page, "unsaved-warning")
    dialog.get_by_role("button", name="Stay").click()
    expect(page).to_have_url(re.compile(f"/workflows/{wid}$"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Runs").click()
    page.get_by_role("dialog").get_by_role("button", name="Leave").click()
    expect(page).to_have_url(re.compile("/runs$"))


def test_save_makes_versions_and_an_old_one_can_be_restored(page: Any, server: Server) -> None:
    wid = small_workflow(server, name="Versioned")
    login(page)
    page.goto(f"/workflows/{wid}")
    b = Builder(page)
    b.open("total")
    b.field("output_field").locator("input").fill("grand_total")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("save-state")).to_contain_text("v2")
    page.get_by_role("button", name="Version history").click()
    versions = page.get_by_test_id("versions")
    expect(versions.locator("li")).to_have_count(2)
    versions.get_by_role("button", name="Changes from version 1 to the current one").click()
    expect(page.get_by_test_id("version-diff")).to_contain_text("output_field")
    expect(page.get_by_test_id("version-diff")).to_contain_text("grand_total")
    shot(page, "versions")
    versions.locator("li", has_text="v1").get_by_role("button", name="Restore").click()
    page.get_by_role("dialog", name="Restore version 1?").get_by_role("button", name="Restore").click()
    expect(page.get_by_test_id("save-state")).to_contain_text("v3")
    b.open("total")
    expect(b.field("output_field").locator("input")).to_have_value("sum")
    saved = server.api("GET", f"/api/workflows/{wid}", token=server.token())
    assert saved["version"] == 3
    assert saved["definition"]["nodes"][1]["config"]["output_field"] == "sum"


def test_workflow_list_searches_toggles_duplicates_exports_imports_and_deletes(page: Any, server: Server, tmp_path: Any) -> None:
    marker = uuid.uuid4().hex[:6]
    wid = small_workflow(server, name=f"Ledger {marker}")
    login(page)
    page.get_by_role("searchbox", name="Search workflows").fill(marker)
    rows = page.get_by_test_id("workflow-row")
    expect(rows).to_have_count(1)
    row = rows.first
    # Active toggle.
    was = row.get_by_role("switch").get_attribute("aria-checked")
    row.get_by_role("switch").click()
    expect(row.get_by_role("switch")).not_to_have_attribute("aria-checked", was)
    # Export to a file.
    with page.expect_download() as download:
        row.get_by_role("button", name=f"Export Ledger {marker}").click()
    exported = tmp_path / "exported.json"
    download.value.save_as(exported)
    definition = json.loads(exported.read_text())
    assert definition["id"] == wid and len(definition["nodes"]) == 2
    # Duplicate.
    row.get_by_role("button", name=f"Duplicate Ledger {marker}").click()
    expect(rows).to_have_count(2)
    expect(page.get_by_role("link", name=f"Ledger {marker} (copy)")).to_be_visible()
    # Import the exported file under a new name: it opens in the builder.
    definition["id"] = f"imported-{marker}"
    definition["name"] = f"Imported {marker}"
    exported.write_text(json.dumps(definition))
    page.get_by_test_id("import-file").set_input_files(str(exported))
    expect(page).to_have_url(re.compile(f"/workflows/imported-{marker}$"))
    expect(page.get_by_test_id("canvas-node")).to_have_count(2)
    page.get_by_role("button", name="Back to workflows").click()
    page.get_by_role("searchbox", name="Search workflows").fill(marker)
    expect(rows).to_have_count(3)
    shot(page, "workflow-list")
    # Delete, after confirming.
    page.get_by_role("button", name=f"Delete Imported {marker}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(rows).to_have_count(2)


def test_a_viewer_reads_workflows_but_cannot_change_them(page: Any, server: Server) -> None:
    wid = small_workflow(server, name="Read only")
    email = f"viewer-{uuid.uuid4().hex[:6]}@example.com"
    server.add_user(email, "viewer", "viewer-password-1")
    login(page, email, "viewer-password-1")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Workflows")).to_be_visible()
    expect(nav.get_by_role("link", name="Settings")).to_have_count(0)
    expect(nav.get_by_role("link", name="Connections")).to_have_count(0)
    expect(page.get_by_role("button", name="New workflow")).to_have_count(0)
    page.goto(f"/workflows/{wid}")
    expect(page.get_by_test_id("canvas-node")).to_have_count(2)
    expect(page.get_by_test_id("save-state")).to_contain_text("Read only")
    expect(page.get_by_test_id("save")).to_have_count(0)
    expect(page.get_by_test_id("palette-item")).to_have_count(0)
    Builder(page).open("total")
    expect(Builder(page).field("formula").locator("textarea")).to_be_disabled()
    page.keyboard.press("Delete")
    expect(page.get_by_test_id("canvas-node")).to_have_count(2)
    page.goto("/settings")
    expect(page.get_by_text("You do not have access to this page")).to_be_visible()


def test_a_200_node_workflow_opens_and_stays_editable(page: Any, server: Server) -> None:
    wid = f"big-{uuid.uuid4().hex[:8]}"
    nodes = [{"id": "start", "type": "ManualTrigger", "config": {}}]
    edges = []
    for i in range(1, 200):
        nodes.append({"id": f"c{i}", "type": "Calculator", "config": {"formula": f"item.a + {i}", "output_field": f"f{i}"}})
        edges.append({"from": "start" if i <= 10 else f"c{i - 10}", "to": f"c{i}"})
    server.api("POST", "/api/workflows", {"id": wid, "name": "Two hundred nodes", "nodes": nodes, "edges": edges}, token=server.token())
    login(page)
    page.goto(f"/workflows/{wid}")
    b = Builder(page)
    expect(page.locator("[data-testid=canvas-node][data-node-type=Calculator]").first).to_be_visible()
    box = page.locator(".react-flow__pane").bounding_box()
    page.mouse.move(box["x"] + 200, box["y"] + 600)
    page.mouse.down()
    page.mouse.move(box["x"] + 320, box["y"] + 520, steps=20)
    page.mouse.up()
    page.wait_for_timeout(300)
    # Only the nodes in view are drawn; take one well inside the canvas.
    node_id = None
    for n in page.locator("[data-testid=canvas-node][data-node-type=Calculator]").all():
        nb = n.bounding_box()
        if nb and nb["x"] > box["x"] + 40 and nb["x"] + nb["width"] < box["x"] + box["width"] - 40 and box["y"] + 40 < nb["y"] < box["y"] + box["height"] - 120:
            node_id = n.get_attribute("data-node-id")
            break
    assert node_id, "no node in view"
    formula_before = next(n["config"]["formula"] for n in nodes if n["id"] == node_id)
    b.open(node_id)
    formula = b.field("formula").locator("textarea")
    formula.click()
    formula.press("End")
    formula.press_sequentially(" * 2")
    expect(formula).to_have_value(formula_before + " * 2")
    expect(page.get_by_test_id("save-state")).to_contain_text("Unsaved changes")
    expect(page.get_by_test_id("problems-bar")).to_contain_text("No problems")
    shot(page, "two-hundred-nodes")


def test_a_connection_dropped_on_empty_canvas_adds_the_next_node_and_an_edge_can_be_removed(page: Any, server: Server) -> None:
    wid = small_workflow(server)
    login(page)
    page.goto(f"/workflows/{wid}")
    b = Builder(page)
    edges = page.locator(".react-flow__edge")
    expect(edges).to_have_count(1)
    handle = b.box(b.node("total").locator(".react-flow__handle.source"))
    page.mouse.move(handle["x"] + 5, handle["y"] + 5)
    page.mouse.down()
    page.mouse.move(handle["x"] + 200, handle["y"] + 150, steps=10)
    page.mouse.up()
    quick = page.get_by_test_id("quick-add")
    expect(quick).to_be_visible()
    quick.get_by_role("textbox").fill("wait")
    page.keyboard.press("Enter")
    expect(b.node("wait_1")).to_be_visible()
    expect(edges).to_have_count(2)
    page.wait_for_timeout(400)  # the canvas slides the new node out from under the panel
    shot(page, "quick-add")
    # Select the new connection and remove it with its button.
    page.locator(".react-flow__edge[data-id='total:main->wait_1']").click(force=True)
    page.get_by_role("button", name="Remove this connection").click()
    expect(edges).to_have_count(1)
