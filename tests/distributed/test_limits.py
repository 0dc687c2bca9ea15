"""Concurrency limits (DESIGN §6): per node type and per workflow, held in the database so that
every worker of every process keeps them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from datacollect.nodes.base import Items, Node, NodeConfig, NodeContext, Output
from datacollect.nodes.builtin import NODES
from datacollect.nodes.registry import NodeRegistry
from tests.conftest import make_settings
from tests.distributed.cluster import CountingServer, export_workflow, wait_runs
from tests.distributed.conftest import client_platform
from tests.engine.helpers import save


class Slow(Node):
    """Takes a while and counts how many of it run at once, and how many runs at once (test only)."""

    type = "TestSlow"
    category = "transform"
    now: dict[str, int] = {"nodes": 0}
    most: dict[str, int] = {"nodes": 0, "runs": 0}
    runs: dict[str, int] = {}

    class Config(NodeConfig):
        seconds: float = 0.05

    async def run(self, ctx: NodeContext, items: Items) -> Output:
        cls = Slow
        cls.now["nodes"] += 1
        cls.runs[ctx.run_id] = cls.runs.get(ctx.run_id, 0) + 1
        cls.most["nodes"] = max(cls.most["nodes"], cls.now["nodes"])
        cls.most["runs"] = max(cls.most["runs"], sum(1 for n in cls.runs.values() if n))
        try:
            await asyncio.sleep(self.config.seconds)
        finally:
            cls.now["nodes"] -= 1
            cls.runs[ctx.run_id] -= 1
        return {"main": items}


@pytest.fixture
async def limited(tmp_path: Path, db_url: str | None) -> AsyncIterator[Any]:
    from datacollect.platform import Platform

    Slow.now.update(nodes=0)
    Slow.most.update(nodes=0, runs=0)
    Slow.runs.clear()
    settings = make_settings(tmp_path, db_url, concurrency_limits={"node:TestSlow": 2})
    p = Platform.create(settings, registry=NodeRegistry([*NODES, Slow]))
    await p.start(scheduler=True)
    try:
        yield p
    finally:
        await p.stop()


async def _all_settled(p: Any, run_ids: list[str], timeout: float = 30) -> set[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with p.store.transaction() as tx:
            statuses = {tx.get_run(r)["status"] for r in run_ids}
        if statuses <= {"completed", "failed", "cancelled"}:
            return statuses
        await asyncio.sleep(0.05)
    return statuses


async def test_a_node_type_limit_caps_its_parallel_activations_and_every_run_still_completes(limited) -> None:
    save(limited, {"id": "capped", "name": "capped", "nodes": [
        {"id": "start", "type": "ManualTrigger"}, {"id": "slow", "type": "TestSlow"}],
        "edges": [{"from": "start", "to": "slow"}]})
    runs = [await limited.runner.start_run("capped", [{"n": i}], drive=False) for i in range(10)]
    assert await _all_settled(limited, runs) == {"completed"}
    assert Slow.most["nodes"] == 2  # never more than the limit, and the limit was reached
    with limited.store.transaction() as tx:  # every slot was let go
        assert not tx.take_slot("node:TestSlow", "probe", 0, tx.get_run(runs[0])["finished_at"],
                                tx.get_run(runs[0])["finished_at"])


async def test_max_parallel_runs_of_a_workflow_caps_its_runs_not_their_nodes(limited) -> None:
    limited.runner.limits.clear()  # no limit on the node type here
    save(limited, {"id": "one-at-a-time", "name": "one at a time", "settings": {"max_parallel_runs": 2},
                   "nodes": [{"id": "start", "type": "ManualTrigger"},
                             {"id": "a", "type": "TestSlow", "config": {"seconds": 0.03}},
                             {"id": "b", "type": "TestSlow", "config": {"seconds": 0.03}},
                             {"id": "c", "type": "TestSlow", "config": {"seconds": 0.03}}],
                   "edges": [{"from": "start", "to": "a"}, {"from": "start", "to": "b"}, {"from": "a", "to": "c"},
                             {"from": "b", "to": "c"}]})
    runs = [await limited.runner.start_run("one-at-a-time", [{"n": i}], drive=False) for i in range(8)]
    assert await _all_settled(limited, runs) == {"completed"}
    assert Slow.most["runs"] == 2


@pytest.mark.postgres
@pytest.mark.distributed
@pytest.mark.timeout(180)
async def test_a_node_type_limit_holds_across_worker_processes(cluster) -> None:
    c, pg = cluster
    c.env["DATACOLLECT_CONCURRENCY_LIMITS"] = '{"node:APICall": 2}'
    pg.execute("CREATE TABLE supplier_figures (supplier_id text, co2_t float, co2_kg float, run_id text)")
    server = CountingServer(delay=0.2)
    c.worker("w1", 2)
    c.worker("w2", 2)
    c.scheduler()
    p = await client_platform(c)
    try:
        save(p, export_workflow(c.db_url, server.url))
        for i in range(12):
            await p.runner.start_run("export", [{"supplier_id": f"S-{i}", "co2_t": i + 0.5}])
        assert wait_runs(pg, "export", 12, 90) == {"completed": 12}
        assert server.most_in_flight == 2  # four worker processes, two calls at a time
        assert pg.scalar("SELECT count(*) FROM concurrency_slots") == 0
    finally:
        await p.stop()
        server.close()
