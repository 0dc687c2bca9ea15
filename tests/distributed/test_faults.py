"""Faults with real processes on the PostgreSQL and Redis of this machine (DESIGN §13): a worker
killed with kill -9, Redis restarted, PostgreSQL restarted, a message delivered twice, two
schedulers at once. In every case each run completes once and each row is written once.

Tests that restart a server hold the servers exclusively (see ``cluster.services``); all of
them belong to one xdist group so that they run one after the other.
"""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest

from tests.distributed.cluster import (
    FIVE_NODE_TABLE,
    CountingServer,
    export_workflow,
    pg_ctl,
    run_counts,
    start_redis,
    stop_redis,
    wait_port,
    wait_runs,
)
from tests.distributed.conftest import client_platform
from tests.engine.helpers import save

pytestmark = [pytest.mark.postgres, pytest.mark.distributed, pytest.mark.faults,
              pytest.mark.xdist_group("faults")]

FAST_RECOVERY = {"DATACOLLECT_LEASE_SECONDS": "5", "DATACOLLECT_RECONCILE_AFTER": "4",
                 "DATACOLLECT_VISIBILITY_TIMEOUT": "20"}
TABLE_SQL = f"CREATE TABLE {FIVE_NODE_TABLE} (supplier_id text, co2_t float, co2_kg float, run_id text)"


async def _start_runs(p, workflow_id: str, first: int, count: int) -> list[str]:
    ids = []
    for i in range(first, first + count):
        for attempt in range(60):  # a client tries again while the database restarts
            try:
                ids.append(await p.runner.start_run(workflow_id, [{"supplier_id": f"S-{i}", "co2_t": i + 0.5}]))
                break
            except Exception:
                if attempt == 59:
                    raise
                await asyncio.sleep(0.5)
    return ids


def _completed(pg, workflow_id: str) -> int:
    try:
        return run_counts(pg, workflow_id).get("completed", 0)
    except Exception:
        return 0


async def _wait_completed(pg, workflow_id: str, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _completed(pg, workflow_id) < n:
        assert time.monotonic() < deadline, f"fewer than {n} runs completed in {timeout:.0f} s"
        await asyncio.sleep(0.1)


def _assert_each_run_once(pg, server: CountingServer | None, workflow_id: str, total: int, timeout: float) -> None:
    counts = wait_runs(pg, workflow_id, total, timeout)
    assert counts == {"completed": total}, counts
    assert pg.scalar(f"SELECT count(*) FROM {FIVE_NODE_TABLE}") == total
    assert pg.scalar(f"SELECT count(DISTINCT run_id) FROM {FIVE_NODE_TABLE}") == total
    left = pg.rows("SELECT status, count(*) FROM activations WHERE status IN ('pending', 'ready', 'running', "
                   "'waiting', 'failed') GROUP BY status")
    assert left == []
    if server is not None:
        assert len(server.counts) == total  # every run called the API (retries carry the same key)


@pytest.mark.timeout(300)
async def test_kill_9_of_a_worker_during_1000_runs_completes_every_run_and_writes_each_row_once(fault_cluster):
    c, pg = fault_cluster
    c.env.update(FAST_RECOVERY)
    pg.execute(TABLE_SQL)
    server = CountingServer(delay=0.02)  # each call takes a while, so the kill finds calls in flight
    w1 = c.worker("w1", 2)
    c.worker("w2", 2)
    c.scheduler()
    p = await client_platform(c)
    try:
        save(p, export_workflow(c.db_url, server.url))
        await _start_runs(p, "export", 0, 400)
        await _wait_completed(pg, "export", 100)
        children = subprocess.run(["pgrep", "-P", str(w1.pid)], capture_output=True, text=True).stdout.split()
        assert children, "the worker has no pool processes"
        holders = " OR ".join(f"leased_by LIKE '%-{pid}:%'" for pid in children)
        deadline = time.monotonic() + 20
        while not pg.scalar(f"SELECT count(*) FROM activations WHERE status = 'running' AND ({holders})"):
            assert time.monotonic() < deadline, "the worker never held an activation"
            await asyncio.sleep(0.005)
        c.kill("w1")
        orphans = pg.rows(f"SELECT id FROM activations WHERE status = 'running' AND ({holders})")
        assert orphans, "the kill found the worker between activations"
        await _start_runs(p, "export", 400, 600)
        _assert_each_run_once(pg, server, "export", 1000, 180)
        retaken = pg.scalar("SELECT count(*) FROM activations WHERE id = ANY(:ids) AND status = 'completed' "
                            "AND attempts >= 2", ids=[r[0] for r in orphans])
        assert retaken == len(orphans)  # what the dead worker held was taken again and finished
    finally:
        await p.stop()
        server.close()


@pytest.mark.timeout(300)
async def test_a_redis_restart_during_load_loses_no_run_and_runs_go_on_when_it_is_back(fault_cluster):
    c, pg = fault_cluster
    c.env.update(FAST_RECOVERY)
    pg.execute(TABLE_SQL)
    server = CountingServer()
    c.worker("w1", 2)
    c.worker("w2", 2)
    c.scheduler()
    p = await client_platform(c)
    try:
        save(p, export_workflow(c.db_url, server.url))
        await _start_runs(p, "export", 0, 500)
        await _wait_completed(pg, "export", 50)
        try:
            stop_redis()  # queued messages are gone with it (no persistence)
            await _start_runs(p, "export", 500, 200)  # started while the broker is away
            await asyncio.sleep(3)
        finally:
            start_redis()
        await _start_runs(p, "export", 700, 300)
        _assert_each_run_once(pg, server, "export", 1000, 180)
        assert not c.dead(), c.dead()  # every process lived through it
    finally:
        await p.stop()
        server.close()


@pytest.mark.timeout(300)
async def test_a_postgresql_restart_during_load_is_survived_by_the_workers_and_runs_go_on(fault_cluster):
    c, pg = fault_cluster
    c.env.update(FAST_RECOVERY)
    pg.execute(TABLE_SQL)
    server = CountingServer()
    c.worker("w1", 2)
    c.worker("w2", 2)
    c.scheduler()
    p = await client_platform(c)
    try:
        save(p, export_workflow(c.db_url, server.url))
        await _start_runs(p, "export", 0, 600)
        await _wait_completed(pg, "export", 100)
        try:
            pg_ctl("restart")
        finally:
            wait_port(5432)
        await _start_runs(p, "export", 600, 400)
        _assert_each_run_once(pg, server, "export", 1000, 180)
        assert not c.dead(), c.dead()  # every process lived through it
    finally:
        await p.stop()
        server.close()


class _Keep:
    """A dispatcher that keeps the ids instead of sending them (the test sends the messages)."""

    inflight: set[str] = set()

    def __init__(self) -> None:
        self.ids: list[str] = []

    def dispatch(self, ids: list[str]) -> None:
        self.ids.extend(ids)

    async def drain(self, timeout: float = 0) -> None:
        pass


@pytest.mark.timeout(180)
async def test_the_same_message_delivered_twice_runs_the_node_once(cluster):
    from datacollect.worker.celery_app import TASK, make_celery, queue_name

    c, pg = cluster
    pg.execute(TABLE_SQL)
    server = CountingServer(delay=0.05)
    c.worker("w1", 2)
    c.worker("w2", 2)
    p = await client_platform(c)
    celery = make_celery(c.settings(executor="celery"))
    try:
        save(p, export_workflow(c.db_url, server.url))
        keep = _Keep()
        p.runner.dispatcher = keep
        for i in range(20):
            await p.runner.start_run("export", [{"supplier_id": f"S-{i}", "co2_t": i + 0.5}])
        assert len(keep.ids) == 20
        with celery.producer_or_acquire() as producer:
            for aid in keep.ids:
                for _ in range(2):  # the same message, same task id, twice
                    celery.send_task(TASK, args=[[aid]], task_id=f"dup-{aid}", queue=queue_name("default"),
                                     producer=producer)
        _assert_each_run_once(pg, server, "export", 20, 60)
        assert set(server.counts.values()) == {1}  # each call made once
        attempts = pg.rows("SELECT node_id, max(attempts) FROM activations WHERE node_id <> 'start' GROUP BY node_id")
        assert {n: a for n, a in attempts} == {"validate": 1, "branch": 1, "map": 1, "call": 1, "store": 1}
        received = sum(1 for w in ("w1", "w2") for line in c.log(w).splitlines()
                       if "datacollect.execute[dup-" in line and line.endswith("received"))
        assert received == 40  # both copies reached a worker
    finally:
        await p.stop()
        celery.close()
        server.close()


@pytest.mark.timeout(180)
async def test_two_schedulers_for_several_cron_periods_start_each_fire_once(cluster):
    c, pg = cluster
    c.worker("w1", 2)
    p = await client_platform(c)
    try:
        save(p, {"id": "every-2s", "name": "every 2 s", "nodes": [
            {"id": "tick", "type": "ScheduleTrigger", "config": {"cron": "* * * * * */2", "misfire_policy": "skip"}},
            {"id": "calc", "type": "Calculator", "config": {"formula": "1", "output_field": "one"}}],
            "edges": [{"from": "tick", "to": "calc"}]})
        c.scheduler("s1")
        c.scheduler("s2")
        await asyncio.sleep(9)
        c.stop("s1")
        c.stop("s2")
        fires = pg.rows("SELECT fire_time, run_id FROM schedule_fires ORDER BY fire_time")
        assert len(fires) >= 3
        counts = wait_runs(pg, "every-2s", len(fires), 30)
        assert counts == {"completed": len(fires)}
        runs = pg.rows("SELECT id, trigger FROM runs WHERE workflow_id = 'every-2s'")
        assert {r[0] for r in runs} == {f[1] for f in fires}  # one run per fire, and no other
        fired_at = [r[1]["fired_at"] if isinstance(r[1], dict) else r[1] for r in runs]
        assert len(set(map(str, fired_at))) == len(runs)
    finally:
        await p.stop()
