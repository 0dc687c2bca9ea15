"""The task a worker runs: take the named activations by lease and drive their runs.

Each worker process keeps one platform (database pool, node registry, compiled workflows) and
one event loop for its whole life; a task runs ``Runner.execute`` on that loop. The runner
drives the run on from the activation it took: consecutive activations of a lane run here,
without a trip through the queue, unless a node belongs to a queue this worker does not take
(then it is stored ready and sent to that queue).

When the database goes away mid-task (a restart), the activations this process holds are
given back (made ready again) as soon as the database answers, and sent again; if it does not
answer within ``GIVE_BACK_SECONDS``, their leases run out and the scheduler takes them.
Either way the activation runs again with the same idempotency key.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from typing import Any

from datacollect.config import Settings
from datacollect.observability.tracing import continued

log = logging.getLogger("datacollect.worker")

GIVE_BACK_SECONDS = 60.0
FOLLOW_UP_SECONDS = 30.0


class WorkerProcess:
    """What one worker process keeps between tasks."""

    _current: WorkerProcess | None = None
    _pid = 0

    @classmethod
    def get(cls, settings: Settings, app: Any) -> WorkerProcess:
        if cls._current is None or cls._pid != os.getpid():  # a pool process forked from the parent
            cls._current = cls(settings, app)
            cls._pid = os.getpid()
        return cls._current

    def __init__(self, settings: Settings, app: Any) -> None:
        from datacollect.platform import Platform
        from datacollect.worker.celery_app import split_queues
        from datacollect.worker.dispatcher import CeleryDispatcher

        self.platform = Platform.create(settings, migrate=False, process="worker")
        self.loop = asyncio.new_event_loop()
        runner = self.platform.runner
        # leases name the host and process that hold them (what an operator looks for)
        runner.worker_id = f"{socket.gethostname()[:40]}-{os.getpid()}"
        self.dispatcher = CeleryDispatcher(app, settings, self.platform)
        takes = set(split_queues(settings.worker_queues))
        runner.keep_here = lambda cn: self.dispatcher.queue_of(cn.type) in takes
        runner.on_run_settled.append(self.dispatcher.announce_settled)

    def run(self, activation_ids: list[str]) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._run(activation_ids))

    async def _run(self, ids: list[str]) -> None:
        try:
            await self.platform.runner.execute(ids)
        except Exception:
            log.exception("activations %s could not be run; giving them back", ", ".join(ids))
            await self._give_back()
        await self._follow_ups()

    async def _give_back(self) -> None:
        """Make the activations this process holds ready again, once the database answers."""
        runner = self.platform.runner
        deadline = time.monotonic() + GIVE_BACK_SECONDS
        while True:
            try:
                ids = []
                with runner.store.transaction() as tx:
                    for r in tx.leased_by(runner.worker_id + ":"):  # type: ignore[attr-defined]
                        if tx.update_activation(r["id"], {"status": "ready", "leased_by": None, "lease_until": None},
                                                expect={"status": "running", "leased_by": r["leased_by"]}):
                            ids.append(r["id"])
                if ids:
                    self.dispatcher.dispatch(ids)
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    log.warning("the database did not come back; the leases will run out instead (%s)", exc)
                    return
                await asyncio.sleep(0.5)

    async def _follow_ups(self) -> None:
        """Let what the run started in the background finish (events to a waiting parent run)."""
        me = asyncio.current_task()
        others = [t for t in asyncio.all_tasks(self.loop) if t is not me and not t.done()]
        if others:
            done, pending = await asyncio.wait(others, timeout=FOLLOW_UP_SECONDS)
            for t in pending:
                log.warning("a follow-up of the task did not finish in %.0f s", FOLLOW_UP_SECONDS)
                t.cancel()


def register(app: Any, settings: Settings) -> None:
    """Register the execute task on ``app``."""
    from datacollect.worker.celery_app import TASK

    @app.task(name=TASK, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
    def execute(activation_ids: list[str], trace: dict[str, str] | None = None) -> None:
        with continued(trace):  # the node spans join the trace of the call that made the work
            WorkerProcess.get(settings, app).run(list(activation_ids))

    def warm_up(**_: Any) -> None:  # a pool process opens its platform before the first task
        WorkerProcess.get(settings, app)

    app._datacollect_warm_up = warm_up
