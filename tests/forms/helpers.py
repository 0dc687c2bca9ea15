"""Test helpers for forms: a real SMTP server in the test process (aiosmtpd), the example
form, and reading links out of the mails.

A test module uses the fixtures by importing them::

    from tests.forms.helpers import settings_fixture, smtp_fixture  # noqa: F401 (fixtures)
"""

from __future__ import annotations

import asyncio
import email
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import free_port, make_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "forms" / "supplier_emissions_v2.json"
LINK = re.compile(r"/f/([A-Za-z0-9_-]{20,})")


def example_form() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


def good_answers(**over: Any) -> dict[str, Any]:
    """Answers the example form takes."""
    answers = {
        "company_name": "Acme Steel GmbH", "vat_id": "DE123456789", "country": "DE",
        "contact_name": "Jana Weber", "contact_email": "jana@acme.example", "employees": 420,
        "period_start": "2025-01-01", "period_end": "2025-03-31", "reporting_standard": "ghg_protocol",
        "scope_1": 1200.5, "scope_2": 800, "scope_2_method": "market", "reports_scope_3": False,
        "total_emissions": 2000.5, "has_sites": False, "signatory": "Jana Weber", "confirm": True,
    }
    answers.update(over)
    return answers


@dataclass
class Received:
    at: float
    mail_from: str
    rcpt: list[str]
    msg: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.msg["Subject"])

    @property
    def text(self) -> str:
        part = self.msg.get_body(("plain",))
        return part.get_content() if part is not None else ""

    @property
    def html(self) -> str:
        part = self.msg.get_body(("html",))
        return part.get_content() if part is not None else ""

    @property
    def token(self) -> str:
        m = LINK.search(self.text)
        assert m, f"no link in {self.text!r}"
        return m.group(1)


@dataclass
class SmtpServer:
    port: int
    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    def to(self, address: str) -> list[Received]:
        return [m for m in self.received if address in m.rcpt]

    async def wait_for(self, count: int, timeout: float = 10.0, address: str | None = None) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address) if address else self.received
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
        found = self.to(address) if address else self.received
        raise AssertionError(f"expected {count} mails{' to ' + address if address else ''}, got {len(found)}")


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.server.refuse or address.startswith("bounce"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=default_policy)
        self.server.received.append(Received(time.monotonic(), envelope.mail_from, list(envelope.rcpt_tos),
                                             msg))  # type: ignore[arg-type]
        return "250 Message accepted"


@pytest.fixture(name="smtp")
def smtp_fixture() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    controller = Controller(_Handler(server), hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture(name="settings")
def settings_fixture(tmp_path: Path, db_url: str | None, smtp: SmtpServer) -> Any:
    return make_settings(tmp_path, db_url, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
                         smtp_from="Sustainability team <esg@buyer.example>", public_url="http://forms.test")
