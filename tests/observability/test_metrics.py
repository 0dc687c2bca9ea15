"""/metrics as Prometheus scrapes it: what ran (HTTP requests by route, runs by workflow and
status, node executions by type and outcome) and what waits (runs, timers, review queues, form
requests), readable by an admin or with the metrics token, by nobody else."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import Api
from tests.engine.helpers import node, save, wf


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(api: Api, **kw: Any) -> dict[Any, float]:
    r = await api.client.get("/metrics", **kw)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return samples(r.text)


async def settled(api: Api, run_id: str, *statuses: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = await api.get(f"/api/runs/{run_id}")
        if r.json()["status"] in (statuses or ("completed",)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} did not settle")


async def test_runs_and_node_executions_are_counted_by_workflow_type_and_outcome(api: Api) -> None:
    save(api.platform, wf("counted", [node("start", "ManualTrigger"), node("map", "DataMapper", mapping_rules=[
        {"from": "x", "to": "y"}]), node("flaky", "TestFlaky", failures=1,
                                        retry={"max_attempts": 2, "backoff_seconds": 0.01, "jitter": False})],
        [("start", "map"), ("map", "flaky")]))
    for _ in range(3):
        r = await api.post("/api/workflows/counted/run", role="builder", json={"data": {"x": 1}})
        assert r.status_code in (200, 201, 202), r.text
        await settled(api, r.json()["id"])

    found = await scrape(api, headers=api.auth("admin"))
    assert value(found, "datacollect_runs_finished_total", workflow="counted", status="completed") == 3
    assert value(found, "datacollect_run_duration_seconds_count", workflow="counted") == 3
    assert value(found, "datacollect_node_executions_total", type="DataMapper", outcome="completed") == 3
    assert value(found, "datacollect_node_executions_total", type="TestFlaky", outcome="retried") == 3
    assert value(found, "datacollect_node_executions_total", type="TestFlaky", outcome="completed") == 3
    assert value(found, "datacollect_node_duration_seconds_count", type="TestFlaky") == 6
    # requests are counted by their route's template, never by the raw path with its ids
    assert value(found, "datacollect_http_requests_total", method="GET", route="/api/runs/{run_id}",
                 status="200") >= 3
    assert not any("/api/runs/" in dict(labels).get("route", "") and "{" not in dict(labels)["route"]
                   for (_, labels) in found)


async def test_what_waits_is_read_from_the_database_at_each_scrape(api: Api) -> None:
    save(api.platform, wf("waits", [node("start", "ManualTrigger"), node("pause", "Wait", duration="1h")],
                       [("start", "pause")]))
    r = await api.post("/api/workflows/waits/run", role="builder", json={"data": {"x": 1}})
    run_id = r.json()["id"]
    await settled(api, run_id, "waiting")
    r = await api.post("/api/reviews/items", role="builder", json={"queue": "q1", "title": "Acme", "sla": "1s"})
    assert r.status_code == 201, r.text

    found = await scrape(api, headers=api.auth("admin"))
    assert value(found, "datacollect_runs_open", status="waiting") == 1
    assert value(found, "datacollect_activations_waiting") == 1
    assert value(found, "datacollect_review_items_open", queue="q1", status="pending") == 1
    assert value(found, "datacollect_database_up") == 1
    await asyncio.sleep(1.1)
    found = await scrape(api, headers=api.auth("admin"))
    assert value(found, "datacollect_review_items_overdue", queue="q1") == 1


async def test_only_admins_and_the_metrics_token_may_read_the_metrics(api: Api) -> None:
    r = await api.client.get("/metrics")
    assert r.status_code == 401 and "Log in first" in r.json()["error"]["message"]
    r = await api.get("/metrics", role="viewer")
    assert r.status_code == 403 and "metrics:read" in r.json()["error"]["message"]
    r = await api.client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert r.status_code == 401

    api.platform.settings.metrics_token = "scrape-me-0123456789"
    try:
        found = await scrape(api, headers={"Authorization": "Bearer scrape-me-0123456789"})
        assert value(found, "datacollect_build_info", version="0.1.0", process="up") == 1
    finally:
        api.platform.settings.metrics_token = None


def test_a_worker_clears_the_counts_of_workers_that_stopped_but_not_of_live_ones(tmp_path: Any, monkeypatch: Any) -> None:
    import os

    from datacollect.observability import metrics

    stopped = tmp_path / "metrics-worker-999999999"
    live = tmp_path / f"metrics-worker-{os.getppid()}"
    for d in (stopped, live):
        d.mkdir()
        (d / "counter_1.db").write_bytes(b"x")
    monkeypatch.setattr(metrics, "_alive", lambda pid: pid != 999999999)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    try:
        metrics.prepare_multiprocess(tmp_path / f"metrics-worker-{os.getpid()}")
        assert not stopped.exists() and live.exists() and (tmp_path / f"metrics-worker-{os.getpid()}").is_dir()
    finally:
        import prometheus_client.values

        monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
        prometheus_client.values.ValueClass = prometheus_client.values.get_value_class()
