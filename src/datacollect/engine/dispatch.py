"""The inline dispatcher: runs ready activations in this process (the embedded shape).

At most ``concurrency`` activations run at once; ids already queued or running here are
not queued twice, so the reconciler may offer the same ids again without harm.
"""

from __future__ import annotations

import asyncio
import logging

from datacollect.engine.runner import Dispatcher, Runner

log = logging.getLogger("datacollect.dispatch")


class InlineDispatcher(Dispatcher):
    def __init__(self, runner: Runner, concurrency: int = 64) -> None:
        self.runner = runner
        self.sem = asyncio.Semaphore(concurrency)
        self.inflight: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        runner.dispatcher = self

    def dispatch(self, activation_ids: list[str]) -> None:
        loop = asyncio.get_running_loop()
        for aid in activation_ids:
            if aid in self.inflight:
                continue
            self.inflight.add(aid)
            task = loop.create_task(self._run(aid))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _run(self, aid: str) -> None:
        try:
            async with self.sem:
                await self.runner.execute([aid])
        except Exception:
            log.exception("activation %s could not be run", aid)
        finally:
            self.inflight.discard(aid)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for the activations in flight (at shutdown or in tests)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.tasks and asyncio.get_running_loop().time() < deadline:
            await asyncio.wait(set(self.tasks), timeout=max(0.0, deadline - asyncio.get_running_loop().time()))
