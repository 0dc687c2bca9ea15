"""Browser tests: the real server (``datacollect up``) on a free port with a fresh data folder,
driven by Debian's Chromium through Playwright, as a new user would.

Every page fails its test on a browser console error or an uncaught exception. Screenshots go
to ``test-artifacts/screenshots/`` (kept by CI). The tests share one server per xdist worker and
run in one xdist group, so they never compete for it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
WEB_INDEX = ROOT / "src" / "datacollect" / "web_dist" / "index.html"
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "e2e-admin-password-1"
EXPECTED_HTTP = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")



def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.xdist_group("e2e"))


@dataclass
class Server:
    url: str
    data_dir: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def api(self, method: str, path: str, body: Any = None, token: str | None = None, form: dict[str, str] | None = None) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
            return json.loads(text) if text else None

    def token(self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> str:
        if email not in self.tokens:
            answer = self.api("POST", "/api/auth/token", form={"username": email, "password": password})
            self.tokens[email] = answer["access_token"]
        return self.tokens[email]

    def add_user(self, email: str, role: str, password: str) -> None:
        self.api("POST", "/api/users", {"email": email, "password": password, "role": role, "name": role.title()}, token=self.token())


def _built() -> bool:
    # `make web` writes a one-line placeholder when there is no web app to build.
    return WEB_INDEX.exists() and "/assets/" in WEB_INDEX.read_text()


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    if not _built():
        pytest.skip("the web app is not built (make web builds it into src/datacollect/web_dist)")
    pytest.importorskip("datacollect.cli", reason="the command line (datacollect up) is not in this checkout")
    cli = Path(sys.executable).with_name("datacollect")
    command = [str(cli)] if cli.exists() else [sys.executable, "-c", "from datacollect.cli import app; app()"]
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="datacollect-e2e-"))
    env = {
        **os.environ,
        "DATACOLLECT_DATA_DIR": str(data_dir),
        "DATACOLLECT_ADMIN_EMAIL": ADMIN_EMAIL,
        "DATACOLLECT_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "DATACOLLECT_ENV": "test",
    }
    env.pop("DATACOLLECT_DATABASE_URL", None)
    log = (data_dir / "server.log").open("w")
    proc = subprocess.Popen([*command, "up", "--host", "127.0.0.1", "--port", str(port)], cwd=data_dir, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server stopped at start:\n{(data_dir / 'server.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not answer /healthz within 60 s") from None
                time.sleep(0.2)
        yield Server(url=url, data_dir=data_dir)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed (scripts/browser.sh installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, server: Server, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context at 1280×800; console errors fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.url)
    context.set_default_timeout(15_000)
    pg = context.new_page()
    problems: list[str] = []

    def on_console(message: Any) -> None:
        # Chromium logs every 4xx answer as "Failed to load resource"; a wrong password (401)
        # or a refused save (422) are answers the app shows, not errors. 5xx still fail.
        if message.type != "error" or EXPECTED_HTTP.search(message.text):
            return
        problems.append(f"console {message.type}: {message.text}")

    pg.on("console", on_console)
    pg.on("pageerror", lambda e: problems.append(f"uncaught: {e}"))
    yield pg
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        shot(pg, f"failed-{request.node.name}")
    context.close()
    assert not problems, "the browser reported errors:\n" + "\n".join(problems)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def login(page: Any, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/workflows")
