"""The integration hub, assembled once per process by ``Platform.create``: connections and
the export ledger for the nodes, outgoing webhooks hooked to run events, and the mailbox
pollers of EmailTrigger workflows.

``tick`` is the scheduler's hook (it runs in the process that runs the scheduler): it starts a
webhook delivery round and the email polls that are due, in the background, and never waits on
another system. ``stop`` ends them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from datacollect.integrations.connections import ConnectionStore
from datacollect.integrations.crypto import SecretBox
from datacollect.integrations.erp.ledger import SqlExportLedger
from datacollect.security.sensitive import use_box

log = logging.getLogger("datacollect.integrations")


class IntegrationHub:
    def __init__(self, settings: Any, db: Any, services: Any, runner: Any) -> None:
        self.settings = settings
        self.db = db
        self.runner = runner
        self.box = SecretBox.from_settings(settings)
        use_box(self.box)  # the same keys seal sensitive answers (security/sensitive.py)
        self.connections = ConnectionStore(db, self.box)
        services.connections = self.connections
        services.exports = SqlExportLedger(db)
        # DatabaseWrite names a stored connection by id: answer its URL
        services.extra.setdefault("connections", self.connections.database_url)
        services.extra["integrations"] = self
        self.services = services
        self._parts: list[Any] = []
        from datacollect.integrations.webhooks_out import WebhookHub

        self.webhooks = WebhookHub(db, self.box, settings)
        runner.on_run_settled.append(self.webhooks.on_run_settled)
        self._parts.append(self.webhooks)
        self.email: Any = None
        if getattr(settings, "email_triggers", True):
            from datacollect.integrations.imap import EmailPoller

            self.email = EmailPoller(db, runner, services, self.connections)
            self._parts.append(self.email)
        self._checks: asyncio.Task[None] | None = None
        #: what is wrong with the blob store (a missing bucket...), found at the first tick
        self.blob_problem: str | None = None

    async def _check_blobs(self) -> None:
        from datacollect.integrations.s3 import check_blob_store

        self.blob_problem = await check_blob_store(self.services.blobs)
        if self.blob_problem:
            log.error("blob store: %s", self.blob_problem)

    async def tick(self) -> None:
        if self._checks is None and self.services.blobs is not None:
            self._checks = asyncio.get_running_loop().create_task(self._check_blobs())
        for part in self._parts:
            try:
                await part.tick()
            except Exception:  # one part must not stop the others
                log.exception("integration tick failed: %s", type(part).__name__)

    async def stop(self) -> None:
        for part in self._parts:
            try:
                await asyncio.wait_for(part.stop(), 10)
            except Exception:
                log.exception("integration stop failed: %s", type(part).__name__)


def add_integrations(settings: Any, db: Any, services: Any, runner: Any) -> IntegrationHub:
    return IntegrationHub(settings, db, services, runner)


def hub_of(services: Any) -> IntegrationHub | None:
    hub = services.extra.get("integrations")
    return hub if isinstance(hub, IntegrationHub) else None
