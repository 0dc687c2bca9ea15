"""The distributed shape with real processes: `datacollect api`, two `datacollect worker` and a
`datacollect scheduler` on PostgreSQL and Redis run the same five-node workflow as `up` does,
configured by URLs only."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import free_port
from tests.distributed.cluster import FIVE_NODE_TABLE, five_node_workflow

pytestmark = [pytest.mark.postgres, pytest.mark.distributed]

ADMIN = {"username": "admin@example.com", "password": "distributed-password"}


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
