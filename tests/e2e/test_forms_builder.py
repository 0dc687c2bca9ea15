"""The form builder, as a team member builds a questionnaire: fields dragged from the palette,
a repeating group with fields of its own, a condition, fields dragged into order, the live
preview (the public page's own renderer) following along, a save refused with the server's
problem on its field, a save as a new version, and the JSON Schema export."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import Server, login, shot


class FormBuilder:
    def __init__(self, page: Any) -> None:
        self.page = page

    @property
    def panel(self) -> Any:
        return self.page.get_by_test_id("builder-panel")

    @property
    def preview(self) -> Any:
        return self.page.get_by_test_id("builder-preview")

    def card(self, field_id: str) -> Any:
        return self.page.locator(f"[data-testid=field-card][data-field-id='{field_id}']").first

    def card_ids(self) -> list[str]:
        cards = self.page.locator("[data-testid=page-fields] > [data-testid=field-card]")
        return [cards.nth(i).get_attribute("data-field-id") for i in range(cards.count())]

    def select(self, field_id: str) -> None:
        self.card(field_id).locator("[data-uid]").first.click()

    def drag_from_palette(self, label: str, target: Any, **position: Any) -> None:
        """Drags a field type onto the target; `at_end=True` drops it at the end of a list."""
        item = self.page.get_by_test_id("palette-field").filter(has_text=re.compile(f"^{re.escape(label)}$"))
        if position.pop("at_end", False):
            box = target.bounding_box()
            position["target_position"] = {"x": 20, "y": box["height"] - 2}
        item.drag_to(target, **position)

    def setting(self, label: str) -> Any:
        return self.panel.get_by_label(label, exact=True)


def test_a_form_with_a_repeating_group_is_built_previewed_and_saved(page: Any, server: Server) -> None:
    name = f"site_audit_{uuid.uuid4().hex[:6]}"
    login(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Forms").click()
    expect(page.get_by_role("heading", name="Forms", exact=True)).to_be_visible()
    page.get_by_role("button", name="New form").click()
    b = FormBuilder(page)
    expect(page.get_by_test_id("builder-status")).to_contain_text("Not saved yet")

    # the form's own settings
    page.get_by_test_id("form-card").click()
    b.setting("Title").fill("Site audit")
    b.setting("Name").fill(name)
    expect(b.preview.get_by_role("heading", name="Site audit")).to_be_visible()

    # a repeating group, dragged from the palette onto the page
    b.drag_from_palette("Repeating group", page.get_by_test_id("page-fields").first)
    expect(b.card("items_1")).to_be_visible()
    expect(b.setting("Type")).to_have_value("table")
    b.setting("Label").fill("Machines")
    b.setting("Id").fill("machines")
    b.setting("Fewest rows").fill("1")
    # its own fields: one added from the menu in its card, one dragged onto it
    page.get_by_label("Add a field to each row of Machines").select_option(label="Number")
    expect(page.get_by_test_id("field-settings")).to_be_visible()
    b.setting("Label").fill("Power")
    b.setting("Id").fill("power_kw")
    b.setting("Unit").fill("kW")
    b.setting("Smallest").fill("0")
    b.drag_from_palette("Yes / no", b.card("machines").get_by_test_id("table-columns").locator("ol").first, at_end=True)
    b.setting("Label").fill("Still in use?")
    b.setting("Id").fill("in_use")
    columns = b.card("machines").get_by_test_id("table-columns").get_by_test_id("field-card")
    expect(columns).to_have_count(3)
    assert [columns.nth(i).get_attribute("data-field-id") for i in range(3)] == ["item", "power_kw", "in_use"]

    # a yes/no question that the group depends on, dragged above it
    b.drag_from_palette("Yes / no", b.card("machines"), target_position={"x": 60, "y": 6})
    b.setting("Label").fill("Do you run machines on site?")
    b.setting("Id").fill("has_machines")
    b.setting("Required").click()
    assert b.card_ids() == ["name", "has_machines", "machines"]
    b.select("machines")
    b.setting("Only if").fill("has_machines == true")
    expect(b.card("machines")).to_contain_text("if has_machines == true")
    expect(page.get_by_test_id("preview-hidden-note")).to_contain_text("has_machines == true")

    # drag to reorder: the question goes first
    b.card("has_machines").drag_to(b.card("name"), target_position={"x": 60, "y": 4})
    assert b.card_ids() == ["has_machines", "name", "machines"]

    # the preview is the public page's renderer: the group shows once the question says yes
    preview = b.preview
    expect(preview.locator("[data-field=machines]")).to_have_count(0)
    preview.get_by_role("group", name="Do you run machines on site?").get_by_role("radio", name="Yes").check()
    group = preview.locator("[data-field=machines]")
    expect(group).to_be_visible()
    preview.get_by_role("button", name="Add a row to Machines").click()
    row = preview.get_by_test_id("table-row")
    expect(row).to_have_count(1)
    expect(row.get_by_label("Item")).to_be_visible()
    expect(row.get_by_label("Power")).to_be_visible()
    expect(row.get_by_text("kW", exact=True)).to_be_visible()
    expect(row.get_by_role("group", name="Still in use?")).to_be_visible()
    row.get_by_label("Power").fill("-5")
    row.get_by_label("Item").click()
    expect(row.get_by_test_id("field-error")).to_have_text("Power must be at least 0 kW")
    b.select("machines")
    shot(page, "form-builder")

    # the server's problems come back on the field they concern
    b.select("name")
    b.setting("Pattern").fill("([A-Z")
    page.get_by_role("button", name="Save").click()
    expect(b.card("name").get_by_test_id("card-problem")).to_contain_text("not a valid regular expression")
    expect(page.get_by_test_id("builder-status")).to_contain_text("1 problem")
    shot(page, "form-builder-problem")
    b.setting("Pattern").fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("builder-status")).to_contain_text(f"{name}_v1")
    expect(page).to_have_url(re.compile(f"/forms/{name}$"))
    saved = server.api("GET", f"/api/forms/{name}", token=server.token())
    fields = saved["schema"]["pages"][0]["fields"]
    assert [f["id"] for f in fields] == ["has_machines", "name", "machines"]
    machines = fields[2]
    assert machines["type"] == "table" and machines["visible_if"] == "has_machines == true" and machines["min_rows"] == 1
    assert [c["id"] for c in machines["fields"]] == ["item", "power_kw", "in_use"]
    assert machines["fields"][1]["unit"] == "kW"

    # a change saves as the next version
    expect(page.get_by_role("button", name="Save new version")).to_be_disabled()
    b.select("name")
    b.setting("Label").fill("Site name")
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_test_id("builder-status")).to_contain_text(f"{name}_v2")
    versions = server.api("GET", f"/api/forms/{name}/versions", token=server.token())
    assert [v["version"] for v in versions["data"]] == ["1", "2"]

    # the JSON Schema of the saved version
    with page.expect_download() as download:
        page.get_by_role("button", name="JSON Schema").click()
    schema = json.loads(open(download.value.path()).read())
    assert "array" in schema["properties"]["machines"]["type"]
    assert "power_kw" in json.dumps(schema["properties"]["machines"])

    # sent to a supplier as a link to pass on, which opens the form as the supplier sees it
    page.get_by_role("button", name="Send…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Recipients").fill(f"Anna Schmidt <anna.{name}@acme.example>, Acme Steel GmbH")
    dialog.get_by_label("Delivery").select_option(label="Links to pass on (portal)")
    dialog.get_by_role("button", name="Send to 1").click()
    link = page.get_by_test_id("personal-link")
    expect(link).to_have_count(1)
    url = link.get_attribute("href")
    token = re.search(r"/f/([A-Za-z0-9_-]+)$", url or "")
    assert token, url
    dialog.get_by_role("button", name="Done").click()
    supplier = page.context.new_page()
    supplier.goto(f"/f/{token.group(1)}")
    expect(supplier.get_by_role("heading", name="Site audit")).to_be_visible()
    expect(supplier.get_by_text("For Anna Schmidt, Acme Steel GmbH")).to_be_visible()
    expect(supplier.get_by_label("Site name")).to_be_visible()
    supplier.close()

    # and the list has it
    page.get_by_role("button", name="Back to forms").click()
    expect(page.get_by_test_id("form-row").filter(has_text=name)).to_contain_text(f"{name}_v2")
    shot(page, "forms-list")

    # an older version comes back into the builder, to be saved as the newest again
    page.get_by_test_id("form-row").filter(has_text=name).get_by_role("link").click()
    expect(b.card("name")).to_contain_text("Site name")
    page.get_by_label("Version", exact=True).select_option(label="Version 1")
    expect(b.card("name")).to_contain_text("Your name")
    expect(page.get_by_test_id("builder-status")).to_contain_text("unsaved changes")
    page.get_by_role("button", name="Undo (Ctrl+Z)").click()
    expect(b.card("name")).to_contain_text("Site name")


def test_every_field_type_can_be_added_from_the_palette_and_is_previewed(page: Any, server: Server) -> None:
    login(page)
    page.goto("/forms/new")
    b = FormBuilder(page)
    page.get_by_test_id("form-card").click()
    types = page.get_by_test_id("palette-field")
    expect(types).to_have_count(14)
    for i in range(14):
        types.nth(i).click()
    cards = page.locator("[data-testid=page-fields] > [data-testid=field-card]")
    expect(cards).to_have_count(15)
    preview = b.preview
    for label in ("Short answer", "Long answer", "Amount", "Count", "Email address", "Phone number", "Website", "Date",
                  "Choose one", "Choose several", "Yes or no?", "Upload a file", "Line items"):
        expect(preview.get_by_text(label, exact=False).first).to_be_visible()
    expect(preview.get_by_role("heading", name="Section")).to_be_visible()
    expect(preview.get_by_test_id("upload-limits")).to_have_text("Any type of file, at most 25 MB")
