"""SMS delivery of form links, behind one small interface so a provider is an adapter.

``LogSms`` (the default, ``DATACOLLECT_SMS_PROVIDER=log``) writes each message to the log and
keeps the last ones in ``sent`` (what tests and a platform with no provider use). A provider
adapter implements ``async send(to, text) -> message id`` and raises ``RecipientRefused`` for a
number the provider refuses.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from typing import Any, Protocol

log = logging.getLogger("datacollect.sms")


class SmsSender(Protocol):
    async def send(self, to: str, text: str) -> str: ...


class LogSms:
    def __init__(self, keep: int = 1000) -> None:
        self.sent: deque[dict[str, str]] = deque(maxlen=keep)

    async def send(self, to: str, text: str) -> str:
        mid = uuid.uuid4().hex
        self.sent.append({"id": mid, "to": to, "text": text})
        log.info("SMS to %s: %s", to, text)
        return mid


def make_sms(settings: Any) -> SmsSender:
    name = (getattr(settings, "sms_provider", None) or "log").lower()
    if name == "log":
        return LogSms()
    from importlib.metadata import entry_points

    for ep in entry_points(group="datacollect.sms"):
        if ep.name == name:
            return ep.load()(settings)  # type: ignore[no-any-return]
    raise ValueError(f"Unknown SMS provider '{name}': install its plugin, or use 'log'")
