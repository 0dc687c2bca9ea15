"""The connections page: a builder keeps the credentials nodes use, tests them, and never sees a
secret again once it is saved."""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import free_port
from tests.e2e.conftest import Server, login, shot


def builder(server: Server) -> tuple[str, str]:
    email, password = f"builder.{uuid.uuid4().hex[:6]}@example.com", "builder-password-1"
    server.add_user(email, "builder", password)
    return email, password


class Api:
    """An API on loopback that answers 200 to one user name and password (Basic) and 401 to the rest."""

    def __init__(self, user: str, password: str) -> None:
        self.expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.seen: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                got = self.headers.get("Authorization", "")
                api.seen.append(got)
                self.send_response(200 if got == api.expected else 401)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def supplier_api() -> Iterator[Api]:
    api = Api("collector", "basic-secret-7Qx9")
    yield api
    api.httpd.shutdown()
    api.httpd.server_close()


def row(page: Any, connection_id: str) -> Any:
    return page.locator(f"[data-testid=connection-row][data-connection-id='{connection_id}']")


def test_a_builder_keeps_an_http_connection_whose_secret_never_reaches_the_page_and_survives_an_edit(
        page: Any, server: Server, supplier_api: Api) -> None:
    secret = "basic-secret-7Qx9"
    tag = uuid.uuid4().hex[:6]
    login(page, *builder(server))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Connections").click()
    expect(page.get_by_role("heading", name="Connections", exact=True)).to_be_visible()

    page.get_by_role("button", name="New connection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Kind").select_option(label="HTTP API")
    dialog.locator("#conn-name").fill(f"Supplier API {tag}")
    dialog.locator("#conn-id").fill(f"supplier-api-{tag}")
    dialog.get_by_label("Base URL").fill(supplier_api.url)
    expect(dialog.get_by_label("Password")).to_have_count(0)  # no authentication chosen yet
    dialog.get_by_label("Auth type").select_option("basic")
    dialog.locator("#conn-field-username").fill("collector")
    dialog.get_by_label("Password").fill(secret)
    expect(dialog.get_by_label("Password")).to_have_attribute("type", "password")
    shot(page, "connection-new-http")
    dialog.get_by_role("button", name="Create connection").click()

    r = row(page, f"supplier-api-{tag}")
    expect(r).to_contain_text(f"Supplier API {tag}")
    expect(r).to_contain_text(supplier_api.url)
    expect(r).to_contain_text("password set")
    expect(r.get_by_test_id("last-test")).to_contain_text("Not tested")
    assert secret not in page.content()

    r.get_by_role("button", name="Test", exact=True).click()
    expect(r.get_by_test_id("last-test-title")).to_have_text("Works")
    assert supplier_api.seen[-1] == supplier_api.expected

    # edit without touching the password: it is kept
    r.get_by_role("button", name=f"Edit Supplier API {tag}").click()
    dialog = page.get_by_role("dialog")
    password = dialog.get_by_label("Password")
    expect(password).to_have_value("")
    expect(password).to_have_attribute("placeholder", "set — leave empty to keep")
    expect(dialog).to_contain_text("Set — leave empty to keep it.")
    expect(dialog.locator("#conn-field-username")).to_have_value("collector")
    dialog.get_by_label("Test path").fill("/health")
    shot(page, "connection-edit-http")
    assert secret not in page.content()
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(r.get_by_test_id("last-test")).to_contain_text("Not tested")  # a change clears the last result

    supplier_api.seen.clear()
    r.get_by_role("button", name="Test", exact=True).click()
    expect(r.get_by_test_id("last-test-title")).to_have_text("Works")
    assert supplier_api.seen == [supplier_api.expected]
    stored = server.api("GET", f"/api/connections/supplier-api-{tag}", token=server.token())
    assert stored["config"]["test_path"] == "/health" and stored["secrets"]["password"] is True
    assert secret not in page.content()
    shot(page, "connections")


def test_a_builder_tests_an_smtp_connection_to_a_closed_port_and_sees_the_failed_stage(page: Any, server: Server) -> None:
    secret = "smtp-secret-Jq42"
    tag = uuid.uuid4().hex[:6]
    closed = free_port()
    login(page, *builder(server))
    page.goto("/connections")

    page.get_by_role("button", name="New connection").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Kind")).to_have_value("smtp")
    dialog.locator("#conn-name").fill(f"Mail relay {tag}")
    dialog.get_by_role("button", name="Create connection").click()
    expect(dialog.get_by_text("Fill in the fields marked below.")).to_be_visible()
    expect(dialog.locator("#conn-field-host").locator("xpath=..")).to_contain_text("Required")

    dialog.get_by_label("Host").fill("127.0.0.1")
    dialog.get_by_label("Port").fill(str(closed))
    dialog.get_by_label("Security").select_option("none")
    dialog.locator("#conn-field-username").fill("mailer")
    dialog.get_by_label("Password").fill(secret)
    dialog.get_by_role("button", name="Create connection").click()

    r = row(page, f"mail-relay-{tag}")
    expect(r).to_contain_text(f"127.0.0.1:{closed}")
    r.get_by_role("button", name="Test", exact=True).click()
    expect(r.get_by_test_id("last-test-title")).to_have_text("Failed at connecting")
    expect(r.get_by_test_id("last-test")).to_contain_text(str(closed))
    expect(page.get_by_role("alert").filter(has_text=f"Mail relay {tag}: failed at connecting")).to_be_visible()
    assert secret not in page.content()
    shot(page, "connection-test-failed")

    # the server refuses a second connection with the same id: the message shows, the form keeps what was typed
    page.get_by_role("button", name="New connection").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("#conn-name").fill(f"Mail relay {tag}")
    dialog.get_by_label("Host").fill("smtp.example.com")
    dialog.get_by_role("button", name="Create connection").click()
    expect(dialog.get_by_role("alert")).to_contain_text(f"A connection with the id 'mail-relay-{tag}' exists already")
    expect(dialog.locator("#conn-name")).to_have_value(f"Mail relay {tag}")
    expect(dialog.get_by_label("Host")).to_have_value("smtp.example.com")
    shot(page, "connection-conflict")
    dialog.get_by_role("button", name="Cancel").click()

    r.get_by_role("button", name=f"Delete Mail relay {tag}").click()
    confirm = page.get_by_role("dialog")
    expect(confirm).to_contain_text(f"Delete “Mail relay {tag}”?")
    confirm.get_by_role("button", name="Delete").click()
    expect(r).to_have_count(0)


def test_a_viewer_does_not_see_the_connections(page: Any, server: Server) -> None:
    email = f"viewer.{uuid.uuid4().hex[:6]}@example.com"
    server.add_user(email, "viewer", "viewer-password-1")
    login(page, email, "viewer-password-1")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Runs")).to_be_visible()
    expect(nav.get_by_role("link", name="Connections")).to_have_count(0)
    page.goto("/connections")
    expect(page.get_by_text("You do not have access to this page")).to_be_visible()
    expect(page.get_by_role("button", name="New connection")).to_have_count(0)
