"""The scheduler: cron fires, due timers, and the reconciler (DESIGN §6).

Each tick:

* wakes waiting activations whose timer is due, ready ones whose backoff is over, and
  running ones whose lease expired (their worker died), and dispatches them;
* re-dispatches ready activations nobody is working on (a message lost, a restart);
* fires due cron schedules. A fire is claimed by inserting (schedule, fire time) under a
  unique key, with the run id chosen up front, so two schedulers never start the same run
  twice; a claim whose run was never created (the scheduler died in between) is started
  with that same run id by the next tick. After downtime the schedule's misfire policy
  decides: ``skip`` missed fires, ``run_once`` for all of them, or ``run_all``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from croniter import croniter

from datacollect.engine.runner import Runner, new_id, utcnow
from datacollect.errors import DatacollectError

log = logging.getLogger("datacollect.scheduler")

MISFIRE_GRACE = timedelta(seconds=60)


def next_fire(cron: str, tz: str, after: datetime) -> datetime:
    """The first fire strictly after ``after``, read in the schedule's time zone."""
    zone = ZoneInfo(tz)
    it = croniter(cron, after.astimezone(zone))
    nxt: datetime = it.get_next(datetime)
    if nxt.tzinfo is None:
        nxt = nxt.replace(tzinfo=zone)
    return nxt.astimezone(UTC)


def fires_between(cron: str, tz: str, start: datetime, end: datetime, limit: int = 1000) -> list[datetime]:
    """Fires in (start - 1µs, end], oldest first."""
    out: list[datetime] = []
    t = start - timedelta(microseconds=1)
    while len(out) < limit:
        t = next_fire(cron, tz, t)
        if t > end:
            break
        out.append(t)
    return out


class ScheduleStore(Protocol):
    def due_schedules(self, now: datetime) -> list[dict[str, Any]]: ...

    def claim_fire(self, schedule_id: str, fire_time: datetime, run_id: str, now: datetime) -> bool: ...

    def set_schedule(self, schedule_id: str, values: dict[str, Any]) -> None: ...

    def orphan_fires(self, older_than: datetime) -> list[dict[str, Any]]: ...

    def forget_fire(self, schedule_id: str, fire_time: datetime) -> None: ...


class Scheduler:
    def __init__(self, runner: Runner, schedules: ScheduleStore, interval: float = 0.25,
                 inflight: set[str] | None = None, reconcile_after: float = 0.0) -> None:
        self.runner = runner
        #: a ready activation is sent again once it has been seen ready this long (distributed
        #: shape: its message may still be in the queue, so not at once)
        self.reconcile_after = reconcile_after
        self._ready_since: dict[str, float] = {}
        self.schedules = schedules
        self.interval = interval
        self.inflight = inflight if inflight is not None else set()
        self._stop = asyncio.Event()
        self._ticks = 0
        #: called on every tick after the timers (campaign reminders and deadlines, say)
        self.hooks: list[Callable[[], Awaitable[None]]] = []

    def stop(self) -> None:
        self._stop.set()

    async def serve(self) -> None:
        while not self._stop.is_set():
            try:
                await self.tick()
            except Exception:  # the scheduler must outlive a bad tick (a database restart, say)
                log.exception("scheduler tick failed")
            try:
                await asyncio.wait_for(self._stop.wait(), self.interval)
            except TimeoutError:
                pass

    async def tick(self) -> None:
        self._ticks += 1
        ids = self.runner.wake_due()
        if self._ticks % 8 == 1:  # every ~2 s: ready activations nobody is working on
            with self.runner.store.transaction() as tx:
                ids += self._unattended([i for i in tx.ready_ids(utcnow(), 500)
                                         if i not in self.inflight and i not in ids])
        if ids:
            self._dispatch(ids)
        await self.fire_schedules()
        for hook in self.hooks:
            await hook()

    def _unattended(self, ready: list[str]) -> list[str]:
        """The ready activations seen ready for ``reconcile_after`` seconds (sent again now)."""
        if self.reconcile_after <= 0:
            return ready
        now = time.monotonic()
        since = {i: self._ready_since.get(i, now) for i in ready}
        due = [i for i, t in since.items() if now - t >= self.reconcile_after]
        backlog = getattr(self.runner.dispatcher, "backlog", None)
        waiting = backlog() if backlog is not None and due else None
        if waiting:  # that many messages still wait for a worker: theirs may be among them
            due.sort(key=lambda i: since[i])
            overdue = [i for i in due if now - since[i] >= 10 * self.reconcile_after]
            due = list(dict.fromkeys(due[:max(0, len(due) - waiting)] + overdue))
        for i in due:
            since[i] = now
        self._ready_since = since
        return due

    def _dispatch(self, ids: list[str]) -> None:
        if self.runner.dispatcher is not None:
            self.runner.dispatcher.dispatch(ids)
        else:
            asyncio.get_running_loop().create_task(self.runner.execute(ids))

    async def fire_schedules(self, now: datetime | None = None) -> int:
        now = now or utcnow()
        started = 0
        for s in self.schedules.due_schedules(now):
            last = s.get("next_fire_at") or now
            fires = fires_between(s["cron"], s["timezone"], last, now)
            policy = s.get("misfire_policy") or "run_once"
            if policy == "skip":
                fires = [f for f in fires if now - f <= MISFIRE_GRACE]
            elif policy == "run_once" and fires:
                fires = [fires[-1]]
            for f in fires:
                run_id = new_id()
                if self.schedules.claim_fire(s["id"], f, run_id, now):
                    if await self._start(s, f, run_id):
                        started += 1
            self.schedules.set_schedule(s["id"], {"next_fire_at": next_fire(s["cron"], s["timezone"], now),
                                                  "last_fire_at": fires[-1] if fires else s.get("last_fire_at")})
        for orphan in self.schedules.orphan_fires(now - timedelta(seconds=30)):
            await self._start(orphan, orphan["fire_time"], orphan["run_id"])
        return started

    async def _start(self, s: dict[str, Any], fire_time: datetime, run_id: str) -> bool:
        try:
            await self.runner.start_run(s["workflow_id"], [{"fired_at": fire_time.isoformat(),
                                                            "schedule": s.get("cron")}],
                                        trigger_node=s["node_id"], mode="schedule", run_id=run_id,
                                        require_active=True)
            return True
        except DatacollectError as exc:
            log.warning("schedule %s could not start a run: %s", s.get("id") or s.get("schedule_id"), exc.message)
            self.schedules.forget_fire(s.get("schedule_id") or s["id"], fire_time)
            return False
