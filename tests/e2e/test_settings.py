"""The settings page: an admin manages who may sign in, review teams and API keys, and reads the
audit log; nobody else sees it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ADMIN_EMAIL, Server, login, shot


def open_settings(page: Any, tab: str = "Users") -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_role("tab", name=tab).click()
    expect(page.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    # the login page would return to the page signed out from; the next user starts afresh
    page.goto("/workflows")
    page.wait_for_url("**/login")


def with_key(server: Server, method: str, path: str, key: str, body: Any = None) -> int:
    """The HTTP status an integration gets when it calls the API with an API key."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(server.url + path, data=data, method=method,
                                 headers={"X-API-Key": key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def test_an_admin_creates_a_reviewer_who_can_then_sign_in_until_deactivated(page: Any, server: Server) -> None:
    email = f"rita.{uuid.uuid4().hex[:6]}@example.com"
    login(page)
    open_settings(page)
    expect(page.locator(f"[data-testid=user-row][data-email='{ADMIN_EMAIL}']")).to_contain_text("you")

    page.get_by_role("button", name="New user").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Name").fill("Rita Reviewer")
    dialog.get_by_label("Role").select_option(label="Reviewer")
    dialog.get_by_label("Password").fill("short")
    dialog.get_by_role("button", name="Create user").click()
    # the server's refusal is shown, and nothing typed is lost
    expect(dialog.get_by_role("alert")).to_contain_text("The password must have at least 8 characters")
    expect(dialog.get_by_label("Email")).to_have_value(email)
    expect(dialog.get_by_label("Name")).to_have_value("Rita Reviewer")
    expect(dialog.get_by_label("Role")).to_have_value("reviewer")
    shot(page, "settings-user-refused")
    dialog.get_by_label("Password").fill("rita-password-1")
    dialog.get_by_role("button", name="Create user").click()

    row = page.locator(f"[data-testid=user-row][data-email='{email}']")
    expect(row).to_contain_text("Rita Reviewer")
    expect(row.get_by_test_id("user-role")).to_have_text("Reviewer")
    expect(row).to_contain_text("never")
    shot(page, "settings-users")

    row.get_by_role("button", name="Edit Rita Reviewer").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Email")).to_be_disabled()
    dialog.get_by_label("Name").fill("Rita Weber")
    dialog.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("Rita Weber")

    sign_out(page)
    login(page, email, "rita-password-1")
    nav = page.get_by_role("navigation", name="Main")
    expect(page.get_by_test_id("current-user")).to_contain_text("Rita Weber")
    expect(nav.get_by_role("link", name="Reviews")).to_be_visible()
    expect(nav.get_by_role("link", name="Settings")).to_have_count(0)
    page.goto("/settings")
    expect(page.get_by_text("You do not have access to this page")).to_be_visible()

    sign_out(page)
    login(page)
    open_settings(page)
    row.get_by_role("button", name="Deactivate").click()
    confirm = page.get_by_role("dialog")
    expect(confirm).to_contain_text("Deactivate Rita Weber?")
    confirm.get_by_role("button", name="Deactivate").click()
    expect(row).to_contain_text("inactive")
    with pytest.raises(urllib.error.HTTPError) as refused:
        server.api("POST", "/api/auth/token", form={"username": email, "password": "rita-password-1"})
    assert refused.value.code == 401
    # an admin cannot deactivate themself
    expect(page.locator(f"[data-testid=user-row][data-email='{ADMIN_EMAIL}']").get_by_role("button", name="Deactivate")).to_have_count(0)


def test_an_admin_makes_an_api_key_sees_it_once_uses_it_and_revokes_it(page: Any, server: Server) -> None:
    name = f"ERP nightly import {uuid.uuid4().hex[:6]}"
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(page)
    open_settings(page, "API keys")

    page.get_by_role("button", name="New API key").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Create key").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Give the key a name")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Role").select_option(label="Viewer")
    dialog.get_by_role("button", name="Create key").click()

    expect(dialog).to_contain_text("you will not see it again")
    key = dialog.get_by_test_id("new-api-key").input_value()
    assert key.startswith("dc_") and len(key) > 30
    dialog.get_by_role("button", name="Copy").click()
    expect(dialog.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key
    shot(page, "settings-api-key-once")
    dialog.get_by_role("button", name="Done").click()

    row = page.locator(f"[data-testid=api-key-row][data-name='{name}']")
    expect(row).to_contain_text("Viewer")
    expect(row).to_contain_text("active")
    expect(row).to_contain_text(key[:10])
    assert key not in page.content()  # shown once, never again

    # the key works against the API, with its role's rights
    assert with_key(server, "GET", "/api/workflows", key) == 200
    assert with_key(server, "POST", "/api/users", key, {"email": "x@example.com", "password": "x-password-1"}) == 403
    page.reload()
    expect(row).not_to_contain_text("never")  # its last use is shown
    shot(page, "settings-api-keys")

    row.get_by_role("button", name="Revoke").click()
    confirm = page.get_by_role("dialog")
    expect(confirm).to_contain_text(f"Revoke the key “{name}”?")
    confirm.get_by_role("button", name="Revoke").click()
    expect(row).to_contain_text("revoked")
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    assert with_key(server, "GET", "/api/workflows", key) == 401


def test_an_admin_makes_a_review_team_with_a_lead(page: Any, server: Server) -> None:
    tag = uuid.uuid4().hex[:6]
    anna, ben = f"anna.{tag}@example.com", f"ben.{tag}@example.com"
    server.add_user(anna, "reviewer", "anna-password-1")
    server.add_user(ben, "reviewer", "ben-password-1")
    team_name = f"Sustainability {tag}"
    login(page)
    open_settings(page, "Teams")

    page.get_by_role("button", name="New team").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill(team_name)
    dialog.get_by_label("Description").fill("Checks the emissions figures")
    dialog.get_by_role("button", name="Create team").click()
    page.get_by_test_id("team-item").filter(has_text=team_name).click()
    detail = page.get_by_test_id("team-detail")
    expect(detail.get_by_role("heading", name=team_name)).to_be_visible()
    expect(detail).to_contain_text("No members yet")

    detail.get_by_label("User to add").select_option(label=f"Reviewer ({anna})")
    detail.get_by_label("Role in the team").select_option("lead")
    detail.get_by_role("button", name="Add").click()
    expect(detail.locator(f"[data-testid=member-row][data-email='{anna}']")).to_be_visible()
    detail.get_by_label("User to add").select_option(label=f"Reviewer ({ben})")
    detail.get_by_role("button", name="Add").click()
    ben_row = detail.locator(f"[data-testid=member-row][data-email='{ben}']")
    expect(ben_row).to_be_visible()
    expect(detail.locator(f"[data-testid=member-row][data-email='{anna}']").get_by_role("combobox")).to_have_value("lead")
    expect(ben_row.get_by_role("combobox")).to_have_value("member")
    expect(page.get_by_test_id("team-item").filter(has_text=team_name)).to_contain_text("2 members")
    shot(page, "settings-team")

    # a second team of the same name is refused, with the server's words
    page.get_by_role("button", name="New team").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill(team_name)
    dialog.get_by_role("button", name="Create team").click()
    expect(dialog.get_by_role("alert")).to_contain_text(f"A team named '{team_name}' exists already")
    dialog.get_by_role("button", name="Cancel").click()

    ben_row.get_by_role("combobox").select_option("lead")
    detail.locator(f"[data-testid=member-row][data-email='{anna}']").get_by_role("button", name="Remove Reviewer").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    expect(detail.get_by_test_id("member-row")).to_have_count(1)
    team = next(t for t in server.api("GET", "/api/teams", token=server.token())["data"] if t["name"] == team_name)
    members = server.api("GET", f"/api/teams/{team['id']}", token=server.token())["members"]
    assert [(m["email"], m["role"]) for m in members] == [(ben, "lead")]

    detail.get_by_role("button", name="Delete team").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete team").click()
    expect(page.get_by_test_id("team-item").filter(has_text=team_name)).to_have_count(0)


def test_the_audit_log_shows_who_changed_what(page: Any, server: Server) -> None:
    email = f"vera.{uuid.uuid4().hex[:6]}@example.com"
    server.add_user(email, "viewer", "vera-password-1")
    user_id = next(u["id"] for u in server.api("GET", "/api/users", token=server.token())["data"] if u["email"] == email)
    server.api("PATCH", f"/api/users/{user_id}", {"role": "reviewer"}, token=server.token())
    login(page)
    open_settings(page, "Audit log")
    page.get_by_label("Kind of record").select_option("user")
    page.get_by_label("Record id").fill(user_id)
    rows = page.get_by_test_id("audit-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("User changed")
    expect(rows.first).to_contain_text("role: viewer → reviewer")
    expect(rows.first).to_contain_text(ADMIN_EMAIL)
    expect(rows.nth(1)).to_contain_text("User created")
    expect(rows.nth(1)).to_contain_text(email)
    shot(page, "settings-audit")


def test_a_viewer_and_a_builder_do_not_see_the_settings(page: Any, server: Server) -> None:
    tag = uuid.uuid4().hex[:6]
    for role in ("viewer", "builder"):
        email = f"{role}.{tag}@example.com"
        server.add_user(email, role, f"{role}-password-1")
        login(page, email, f"{role}-password-1")
        expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings")).to_have_count(0)
        page.goto("/settings")
        expect(page.get_by_text("You do not have access to this page")).to_be_visible()
        expect(page.get_by_role("tab", name="Users")).to_have_count(0)
        sign_out(page)
