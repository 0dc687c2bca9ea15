"""Execution data kept under a policy: a finished run's node data goes after its days (its
summary stays), whole runs go after theirs or beyond a workflow's count, a workflow's own
settings win, waiting runs are never touched, and a pruned run is not retried from data it
no longer has."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from datacollect.db.retention import Policy, RunRetention, sweep
from tests.api.conftest import Api
from tests.engine.helpers import node, run_row, save, wf


async def runs_of(api: Api, wid: str, n: int, data: dict[str, Any] | None = None) -> list[str]:
    ids = []
    for i in range(n):
        r = await api.post(f"/api/workflows/{wid}/run", json={"data": data or {"x": i}})
        assert r.status_code == 200, r.text
        ids.append(r.json()["id"])
    return ids


def flow(wid: str, **settings: Any) -> dict[str, Any]:
    return wf(wid, [node("start", "ManualTrigger"), node("calc", "Calculator", formula="item.x + 1",
                                                          output_field="y")], [("start", "calc")],
              settings=settings)


async def test_a_finished_runs_node_data_goes_after_its_days_and_its_summary_stays(api: Api) -> None:
    save(api.platform, flow("kept"))
    save(api.platform, wf("waits", [node("start", "ManualTrigger"), node("pause", "Wait", duration="30d")],
                          [("start", "pause")]))
    [done] = await runs_of(api, "kept", 1)
    [waiting] = await runs_of(api, "waits", 1)
    later = datetime.now(UTC) + timedelta(days=31)

    assert sweep(api.platform.db, Policy(run_data_days=30), at=later) == {"pruned": 1, "deleted": 0}
    run = (await api.get(f"/api/runs/{done}")).json()
    assert run["status"] == "completed" and run["data_pruned_at"] is not None and run["trigger"] is None
    calc = next(a for a in run["activations"] if a["node_id"] == "calc")
    assert calc["status"] == "completed" and calc["item_count"] == 1
    assert calc["input"] is None and calc["output"] is None
    assert run_row(api.platform, waiting)["acts"][("pause", "0")]["state"] is not None  # waits keep theirs

    r = await api.post(f"/api/runs/{done}/retry", json={})
    assert r.status_code == 409 and "retention policy" in r.json()["error"]["message"]
    assert sweep(api.platform.db, Policy(run_data_days=30), at=later) == {"pruned": 0, "deleted": 0}


async def test_whole_runs_go_after_their_days_or_beyond_a_workflows_count(api: Api) -> None:
    save(api.platform, flow("busy", retention={"keep_count": 2}))
    save(api.platform, flow("quiet"))
    busy = await runs_of(api, "busy", 5)
    quiet = await runs_of(api, "quiet", 2)

    assert sweep(api.platform.db, Policy())["deleted"] == 3  # the workflow's own count
    left = (await api.get("/api/runs?workflow_id=busy")).json()["data"]
    assert sorted(r["id"] for r in left) == sorted(busy[-2:])
    assert (await api.get(f"/api/runs/{busy[0]}")).status_code == 404
    assert (await api.get("/api/runs?workflow_id=quiet")).json()["count"] == 2

    in_a_year = datetime.now(UTC) + timedelta(days=365)
    assert sweep(api.platform.db, Policy(keep_days=90), at=in_a_year)["deleted"] == 4
    assert (await api.get(f"/api/runs/{quiet[0]}")).status_code == 404


async def test_the_scheduler_sweeps_by_itself(api: Api) -> None:
    save(api.platform, flow("swept", retention={"keep_count": 1}))
    await runs_of(api, "swept", 3)
    hook = RunRetention(api.platform.db, Policy(), interval=0)
    await hook.tick()
    await asyncio.sleep(0)
    assert (await api.get("/api/runs?workflow_id=swept")).json()["count"] == 1


async def test_retention_settings_that_cannot_work_are_refused_when_the_workflow_is_saved(api: Api) -> None:
    for bad, where in (({"keep_days": "soon"}, "settings.retention.keep_days"),
                       ({"keep_forever": True}, "settings.retention.keep_forever"),
                       ("90 days", "settings.retention")):
        r = await api.post("/api/workflows", json=flow("bad", retention=bad))
        assert r.status_code == 422, r.text
        assert [p["field"] for p in r.json()["error"]["details"]] == [where]
