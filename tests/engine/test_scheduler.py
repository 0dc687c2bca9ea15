"""The scheduler: cron fires in a time zone, each fire claimed once, misfire policies."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from datacollect.db.models import Run, Schedule
from datacollect.db.services import SqlSchedules
from datacollect.engine.scheduler import Scheduler, fires_between, next_fire
from tests.engine.helpers import node, save, wf


def test_next_fire_reads_the_cron_in_the_schedules_time_zone() -> None:
    after = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)  # 07:00 in Paris
    assert next_fire("0 9 * * *", "Europe/Paris", after) == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    assert next_fire("0 0 1 */3 *", "UTC", after) == datetime(2026, 4, 1, tzinfo=UTC)


def test_a_daily_schedule_on_a_dst_change_day_fires_once() -> None:
    start = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    fires = fires_between("30 2 * * *", "Europe/Berlin", start, start + timedelta(days=2))
    assert len(fires) == 2  # 29 March (the clocks skip 02:00-03:00) and 30 March
    assert len({f.date() for f in fires}) == 2


async def _due_schedule(platform, policy: str, missed: int) -> None:
    save(platform, wf("cron", [node("tick", "ScheduleTrigger", cron="* * * * *", misfire_policy=policy),
                               node("calc", "Calculator", formula="1", output_field="one")], [("tick", "calc")]))
    with platform.db.write() as s:
        s.execute(update(Schedule).values(next_fire_at=datetime.now(UTC).replace(second=0, microsecond=0)
                                          - timedelta(minutes=missed)))


def _runs(platform) -> list[Run]:
    with platform.db.session() as s:
        return list(s.scalars(select(Run).where(Run.workflow_id == "cron")))


async def test_two_schedulers_start_each_fire_exactly_once(platform) -> None:
    await _due_schedule(platform, "run_all", 3)
    a = Scheduler(platform.runner, SqlSchedules(platform.db))
    b = Scheduler(platform.runner, SqlSchedules(platform.db))
    await asyncio.gather(a.fire_schedules(), b.fire_schedules())
    runs = _runs(platform)
    assert len(runs) == 4  # three missed minutes and the current one
    assert all(r.status == "completed" and r.mode == "schedule" for r in runs)
    assert len({r.trigger["fired_at"] for r in runs}) == 4


async def test_misfire_policy_run_once_starts_one_run_for_all_missed_fires(platform) -> None:
    await _due_schedule(platform, "run_once", 5)
    await Scheduler(platform.runner, SqlSchedules(platform.db)).fire_schedules()
    assert len(_runs(platform)) == 1


async def test_misfire_policy_skip_drops_fires_older_than_a_minute(platform) -> None:
    await _due_schedule(platform, "skip", 5)
    await Scheduler(platform.runner, SqlSchedules(platform.db)).fire_schedules()
    assert len(_runs(platform)) <= 2


async def test_an_inactive_workflow_has_no_schedule(platform) -> None:
    await _due_schedule(platform, "run_all", 1)
    d = wf("cron", [node("tick", "ScheduleTrigger", cron="* * * * *"),
                    node("calc", "Calculator", formula="1", output_field="one")], [("tick", "calc")], active=False)
    save(platform, d)
    await Scheduler(platform.runner, SqlSchedules(platform.db)).fire_schedules()
    assert _runs(platform) == []
