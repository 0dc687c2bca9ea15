"""The distributed shape with real processes: `datacollect api`, two `datacollect worker` and a
`datacollect scheduler` on PostgreSQL and Redis run the same five-node workflow as `up` does,
configured by URLs only."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import free_port
from tests.distributed.cluster import (
    FIVE_NODE_TABLE,
    CountingServer,
    export_workflow,
    five_node_workflow,
    wait_runs,
)
from tests.distributed.conftest import client_platform
from tests.engine.helpers import save

pytestmark = [pytest.mark.postgres, pytest.mark.distributed]

ADMIN = {"username": "admin@example.com", "password": "distributed-password"}
TABLE_SQL = f"CREATE TABLE {FIVE_NODE_TABLE} (supplier_id text, co2_t float, co2_kg float, run_id text)"


def test_api_workers_and_scheduler_run_the_five_node_workflow_to_completion(cluster) -> None:
    c, pg = cluster
    c.env.update(DATACOLLECT_ADMIN_EMAIL=ADMIN["username"], DATACOLLECT_ADMIN_PASSWORD=ADMIN["password"])
    c.worker("w1")
    c.worker("w2")
    c.scheduler()
    url = c.api(free_port())
    http = httpx.Client(base_url=url, timeout=30)
    token = http.post("/api/auth/token", data=ADMIN).json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    pg.execute(f"CREATE TABLE {FIVE_NODE_TABLE} (supplier_id text, co2_t float, co2_kg float, run_id text)")
    assert http.post("/api/workflows", json=five_node_workflow(c.db_url), headers=h).status_code == 201

    answers = [http.post("/webhook/figures", json={"supplier_id": f"S-{i}", "co2_t": i + 0.5}) for i in range(20)]
    assert [a.status_code for a in answers] == [200] * 20
    assert all(a.json()[0]["_write"]["status"] == "inserted" for a in answers)
    bad = http.post("/webhook/figures", json={"supplier_id": "S-x", "co2_t": -5})
    assert bad.status_code == 200 and bad.json() == []  # the false branch: nothing written

    runs = http.get("/api/runs", params={"workflow_id": "five-node", "page_size": 100}, headers=h).json()
    assert runs["count"] == 21 and {r["status"] for r in runs["data"]} == {"completed"}
    assert pg.scalar(f"SELECT count(*) FROM {FIVE_NODE_TABLE}") == 20
    assert pg.scalar(f"SELECT count(DISTINCT run_id) FROM {FIVE_NODE_TABLE}") == 20
    # the work was done by the workers, not by the API process
    leased = {r[0].split(":")[0] for r in pg.rows("SELECT DISTINCT leased_by FROM activations WHERE leased_by IS NOT NULL")}
    assert leased == set()  # every lease was let go
    workers_log = c.log("w1") + c.log("w2")
    assert "datacollect.execute" in workers_log


def _received(c, name: str) -> int:
    return sum(1 for line in c.log(name).splitlines() if line.endswith("received"))


@pytest.mark.timeout(180)
async def test_slow_nodes_run_on_the_workers_of_their_queue_and_the_rest_on_the_others(cluster) -> None:
    c, pg = cluster
    pg.execute(TABLE_SQL)
    server = CountingServer()
    c.worker("bulk", 2, "--queues=default")
    c.worker("calls", 2, "--queues=slow")
    p = await client_platform(c)
    try:
        save(p, export_workflow(c.db_url, server.url))
        for i in range(10):
            await p.runner.start_run("export", [{"supplier_id": f"S-{i}", "co2_t": i + 0.5}])
        assert wait_runs(pg, "export", 10, 60) == {"completed": 10}
        assert pg.scalar(f"SELECT count(*) FROM {FIVE_NODE_TABLE}") == 10
        assert _received(c, "calls") == 10  # one APICall activation per run, handed over to its queue
        assert _received(c, "bulk") == 20  # the start of each run, and the write after the call
    finally:
        await p.stop()
        server.close()


@pytest.mark.timeout(180)
async def test_a_node_longer_than_its_lease_keeps_its_activation_by_renewing_the_lease(cluster) -> None:
    c, pg = cluster
    c.env.update(DATACOLLECT_LEASE_SECONDS="1", DATACOLLECT_RECONCILE_AFTER="1")
    pg.execute(TABLE_SQL)
    server = CountingServer(delay=4.0)  # four leases long
    c.worker("w1", 2)
    c.worker("w2", 2)
    c.scheduler()
    p = await client_platform(c)
    try:
        save(p, export_workflow(c.db_url, server.url))
        for i in range(3):
            await p.runner.start_run("export", [{"supplier_id": f"S-{i}", "co2_t": i + 0.5}])
        assert wait_runs(pg, "export", 3, 60) == {"completed": 3}
        assert sorted(server.counts.values()) == [1, 1, 1]  # no other worker took a call over
        assert pg.scalar("SELECT max(attempts) FROM activations WHERE node_id = 'call'") == 1
    finally:
        await p.stop()
        server.close()


@pytest.mark.timeout(180)
async def test_sigterm_drains_a_worker_under_load_and_nothing_is_lost_or_doubled(cluster) -> None:
    c, pg = cluster
    c.env.update(DATACOLLECT_LEASE_SECONDS="5", DATACOLLECT_RECONCILE_AFTER="4")
    pg.execute(TABLE_SQL)
    server = CountingServer(delay=0.02)
    c.worker("w1", 2)
    c.worker("w2", 2)
    c.scheduler()
    p = await client_platform(c)
    try:
        save(p, export_workflow(c.db_url, server.url))
        for i in range(300):
            await p.runner.start_run("export", [{"supplier_id": f"S-{i}", "co2_t": i + 0.5}])
        c.stop("w1", timeout=60)
        assert c.procs["w1"].returncode == 0  # a warm shutdown, not a kill
        assert wait_runs(pg, "export", 300, 120) == {"completed": 300}
        assert pg.scalar(f"SELECT count(*) FROM {FIVE_NODE_TABLE}") == 300
        assert pg.scalar(f"SELECT count(DISTINCT run_id) FROM {FIVE_NODE_TABLE}") == 300
        assert len(server.counts) == 300
    finally:
        await p.stop()
        server.close()
