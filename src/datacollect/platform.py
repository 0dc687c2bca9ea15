"""The platform assembled from settings: database, store, registry, runner, dispatcher,
scheduler and the services nodes use. One per process; the API and the CLI share it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from datacollect.config import Settings, get_settings
from datacollect.db.migrate import upgrade
from datacollect.db.services import EngineSubRuns, SqlDataSources, SqlHistory, SqlMappings, SqlSchedules
from datacollect.db.session import Database
from datacollect.db.store import SqlStore
from datacollect.engine.dispatch import InlineDispatcher
from datacollect.engine.ports import Services
from datacollect.engine.runner import Runner
from datacollect.engine.scheduler import Scheduler
from datacollect.nodes.registry import NodeRegistry, default_registry

log = logging.getLogger("datacollect")


@dataclass
class Platform:
    settings: Settings
    db: Database
    store: SqlStore
    registry: NodeRegistry
    runner: Runner
    services: Services
    dispatcher: InlineDispatcher | None = None
    scheduler: Scheduler | None = None
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @classmethod
    def create(cls, settings: Settings | None = None, *, migrate: bool = True,
               registry: NodeRegistry | None = None) -> Platform:
        settings = settings or get_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if migrate:
            upgrade(settings.db_url)
        db = Database(settings.db_url)
        store = SqlStore(db)
        reg = registry or default_registry()
        services = Services(mappings=SqlMappings(db), history=SqlHistory(db), data_sources=SqlDataSources(db),
                            public_url=settings.base_url)
        runner = Runner(store, reg, services, lease_seconds=settings.lease_seconds)
        services.subruns = EngineSubRuns(runner)
        return cls(settings, db, store, reg, runner, services)

    async def start(self, *, scheduler: bool | None = None) -> None:
        """Start the in-process worker pool and (by default) the scheduler."""
        self.dispatcher = InlineDispatcher(self.runner, self.settings.workers)
        if scheduler if scheduler is not None else self.settings.scheduler:
            self.scheduler = Scheduler(self.runner, SqlSchedules(self.db), self.settings.scheduler_interval,
                                       inflight=self.dispatcher.inflight)
            self._tasks.append(asyncio.get_running_loop().create_task(self.scheduler.serve()))

    async def stop(self) -> None:
        if self.scheduler:
            self.scheduler.stop()
        for t in self._tasks:
            try:
                await asyncio.wait_for(t, 5)
            except (TimeoutError, asyncio.CancelledError):
                t.cancel()
        self._tasks.clear()
        if self.dispatcher:
            await self.dispatcher.drain(10)
        self.db.dispose()
