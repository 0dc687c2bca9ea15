"""The platform assembled from settings: database, store, registry, runner, dispatcher,
scheduler and the services nodes use. One per process; the API and the CLI share it."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from datacollect import __version__
from datacollect.config import Settings, get_settings
from datacollect.db.migrate import upgrade
from datacollect.db.models import WebhookRoute
from datacollect.db.retention import Policy, RunRetention
from datacollect.db.run_data import RunData, attach
from datacollect.db.services import EngineSubRuns, SqlDataSources, SqlHistory, SqlMappings, SqlSchedules
from datacollect.db.session import Database
from datacollect.db.store import SqlStore
from datacollect.engine.dispatch import InlineDispatcher
from datacollect.engine.ports import Services
from datacollect.engine.runner import Runner
from datacollect.engine.scheduler import Scheduler
from datacollect.integrations.hub import add_integrations
from datacollect.nodes.registry import NodeRegistry, default_registry
from datacollect.observability.metrics import Metrics, for_platform
from datacollect.observability.watch import node_watcher
from datacollect.reviews.service import add_reviews
from datacollect.security.privacy import RetentionSweeper

log = logging.getLogger("datacollect")


@dataclass
class Platform:
    settings: Settings
    db: Database
    store: SqlStore
    registry: NodeRegistry
    runner: Runner
    services: Services
    metrics: Metrics | None = None
    dispatcher: InlineDispatcher | None = None
    scheduler: Scheduler | None = None
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _routes: dict[str, tuple[str, str, str]] | None = None
    _routes_at: float = 0.0

    @classmethod
    def create(cls, settings: Settings | None = None, *, migrate: bool = True,
               registry: NodeRegistry | None = None, process: str = "up") -> Platform:
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
        runner.limits = dict(settings.concurrency_limits)
        services.subruns = EngineSubRuns(runner)
        _add_forms(settings, db, services, runner)
        if services.blobs is not None and settings.run_data_blob_bytes > 0:  # large run data to the blob store
            attach(db.engine, RunData(services.blobs, settings.run_data_blob_bytes))
        add_reviews(settings, db, services, runner)  # review queues, the Review node's port
        add_integrations(settings, db, services, runner)  # connections, ERP ledger, webhooks out, email
        metrics = for_platform(db, __version__, process)
        runner.on_run_settled.append(metrics.run_settled)
        runner.watch = node_watcher(metrics)
        return cls(settings, db, store, reg, runner, services, metrics=metrics)

    async def start(self, *, scheduler: bool | None = None) -> None:
        """Start the in-process worker pool (or, with ``executor=celery``, the dispatcher to the
        Celery workers) and (by default) the scheduler."""
        reconcile_after = 0.0
        if self.settings.executor == "celery":
            from datacollect.worker.dispatcher import attach

            self.dispatcher = attach(self)  # type: ignore[assignment]
            reconcile_after = self.settings.reconcile_after
        else:
            self.dispatcher = InlineDispatcher(self.runner, self.settings.workers)
        if scheduler if scheduler is not None else self.settings.scheduler:
            self.scheduler = Scheduler(self.runner, SqlSchedules(self.db), self.settings.scheduler_interval,
                                       inflight=self.dispatcher.inflight, reconcile_after=reconcile_after)
            self.scheduler.hooks.append(self.services.forms.tick)
            self.scheduler.hooks.append(self.services.extra["reviews"].tick)
            self.scheduler.hooks.append(self.services.extra["integrations"].tick)
            retention = RetentionSweeper(self.db, self.services.blobs, self.settings.response_retention_days,
                                         self.settings.retention_interval)
            self.scheduler.hooks.append(retention.tick)  # GDPR: responses past retention (security/privacy.py)
            runs = RunRetention(self.db, Policy(self.settings.run_data_days, self.settings.run_keep_days,
                                                self.settings.run_keep_count), self.settings.retention_interval)
            self.scheduler.hooks.append(runs.tick)  # execution data under a policy (db/retention.py)
            self._tasks.append(asyncio.get_running_loop().create_task(self.scheduler.serve()))

    # -- webhooks ---------------------------------------------------------------------------
    ROUTES_TTL = 2.0  # other API processes see a change within this many seconds

    def invalidate_routes(self) -> None:
        """A workflow changed: webhook routes and the runner's current versions are read again."""
        self._routes = None
        self.runner.forget_workflow()

    def webhook_route(self, path: str) -> tuple[str, str, str] | None:
        """(workflow id, node id, method) of the active workflow listening on ``path``."""
        if self._routes is None or time.monotonic() - self._routes_at > self.ROUTES_TTL:
            with self.db.engine.connect() as c:
                rows = c.execute(select(WebhookRoute.path, WebhookRoute.workflow_id, WebhookRoute.node_id,
                                        WebhookRoute.method)).all()
            self._routes = {r[0]: (r[1], r[2], r[3]) for r in rows}
            self._routes_at = time.monotonic()
        return self._routes.get(path)

    def webhook_node(self, workflow_id: str, node_id: str) -> Any:
        cw = self.runner.current_version(workflow_id)
        cn = cw.nodes.get(node_id) if cw else None
        return cn.node if cn else None

    def run_output(self, run_id: str) -> list[Any]:
        """The items of the run's last node (what a caller that waited gets)."""
        from datacollect.engine.runner import Segment

        with self.store.transaction() as tx:
            run = tx.get_run(run_id)
            if run is None:
                return []
            seg = Segment(run, self.runner.compiled(tx, run["version_id"]), "", fresh=False)
            return self.runner._last_output(seg, tx)

    def run_error(self, run_id: str) -> dict[str, Any]:
        with self.store.transaction() as tx:
            run = tx.get_run(run_id)
        return dict((run or {}).get("error") or {})

    def audit(self, actor: str, action: str, entity_type: str, entity_id: str, before: Any = None,
              after: Any = None, reason: str | None = None) -> None:
        from datacollect.security import audit as audit_log

        with self.db.sessions(bind=self.db.writer) as s, s.begin():
            audit_log.record(s, actor, action, entity_type, entity_id, before, after, reason)

    async def stop(self) -> None:
        if self.scheduler:
            self.scheduler.stop()
        for t in self._tasks:
            try:
                await asyncio.wait_for(t, 5)
            except (TimeoutError, asyncio.CancelledError):
                t.cancel()
        self._tasks.clear()
        await self.services.extra["reviews"].stop()  # decisions being told
        if self.dispatcher:
            await self.dispatcher.drain(10)
            if hasattr(self.dispatcher, "close"):
                self.dispatcher.close()
        await self.services.extra["integrations"].stop()
        await self.services.forms.wait_idle(10)  # a delivery round still writing
        self.db.dispose()


def _add_forms(settings: Settings, db: Database, services: Services, runner: Runner) -> None:
    """Blob store, mailer, SMS and the forms service (campaigns, links, form triggers)."""
    from datacollect.forms.service import FormsService
    from datacollect.integrations.blobs import make_blob_store
    from datacollect.integrations.sms import make_sms
    from datacollect.integrations.smtp import FolderMailer, SmtpMailer

    services.blobs = make_blob_store(settings)
    mailer = SmtpMailer.from_settings(settings) if settings.smtp_host else FolderMailer(
        settings.data_dir / "outbox", settings.smtp_from)
    services.forms = FormsService(db, settings, blobs=services.blobs, mailer=mailer, sms=make_sms(settings),
                                  runner=runner)
    services.mailer = services.forms.mailer
