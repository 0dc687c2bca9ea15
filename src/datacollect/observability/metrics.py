"""Prometheus metrics, one registry per platform, served at ``/metrics`` (and by each worker on
``DATACOLLECT_METRICS_PORT``).

Counted as they happen: HTTP requests by route template and status, runs that ended by workflow
and status with their duration, node executions by type and outcome with their duration.
Read from the database at each scrape (cheap counts on indexed columns, so every process of a
deployment tells the same story): runs by open status, activations waiting for a timer or an
event, open and overdue review items per queue, form requests waiting for an answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

log = logging.getLogger(__name__)

#: seconds: from a webhook answered in milliseconds to a run that waited days for a person
RUN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400, 604800)
NODE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
#: a form request in these states still waits for its recipient
OPEN_REQUESTS = ("pending", "sent", "opened", "draft_saved", "changes_requested", "overdue", "bounced")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """The platform's metrics. Counting never raises into the caller."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter("datacollect_http_requests", "HTTP requests answered, by route template",
                                     ["method", "route", "status"], registry=r)
        self.http_seconds = Histogram("datacollect_http_request_duration_seconds",
                                      "Time to answer an HTTP request", ["method", "route"],
                                      buckets=HTTP_BUCKETS, registry=r)
        self.runs_finished = Counter("datacollect_runs_finished", "Runs that ended, by workflow and status",
                                     ["workflow", "status"], registry=r)
        self.run_seconds = Histogram("datacollect_run_duration_seconds",
                                     "From a run's start to its end (waits included)", ["workflow"],
                                     buckets=RUN_BUCKETS, registry=r)
        self.node_runs = Counter("datacollect_node_executions",
                                 "Node executions by type and outcome (completed, suspended, failed, retried)",
                                 ["type", "outcome"], registry=r)
        self.node_seconds = Histogram("datacollect_node_duration_seconds", "Time a node's execution took",
                                      ["type"], buckets=NODE_BUCKETS, registry=r)
        self.info = Gauge("datacollect_build_info", "The running version", ["version", "process"], registry=r,
                          multiprocess_mode="max")
        # labelled children by their labels: ``labels()`` validates and locks on every call, and
        # these are counted on every request and every node (the label sets are few and bounded)
        self._http: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self._nodes: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._runs: dict[tuple[str, str], tuple[Any, Any]] = {}

    # -- what the engine and the API tell ---------------------------------------------------
    def run_settled(self, run: Any) -> None:
        try:
            status = run["status"]
            if status not in ("completed", "failed", "cancelled"):
                return
            wf = str(run["workflow_id"])
            children = self._runs.get((wf, status))
            if children is None:
                children = self._runs[(wf, status)] = (self.runs_finished.labels(wf, status),
                                                       self.run_seconds.labels(wf))
            children[0].inc()
            started, finished = run.get("started_at"), run.get("finished_at")
            if started and finished:
                children[1].observe(max(0.0, (finished - started).total_seconds()))
        except Exception:  # pragma: no cover - a metric must never break a run
            log.debug("run metric not counted", exc_info=True)

    def node_done(self, node_type: str, outcome: str, seconds: float) -> None:
        children = self._nodes.get((node_type, outcome))
        if children is None:
            children = self._nodes[(node_type, outcome)] = (self.node_runs.labels(node_type, outcome),
                                                            self.node_seconds.labels(node_type))
        children[0].inc()
        children[1].observe(seconds)

    def http_done(self, method: str, route: str, status: str, seconds: float) -> None:
        children = self._http.get((method, route, status))
        if children is None:
            children = self._http[(method, route, status)] = (self.http_requests.labels(method, route, status),
                                                              self.http_seconds.labels(method, route))
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        from datacollect.db.forms_models import FormRequest
        from datacollect.db.models import Activation, Run
        from datacollect.reviews.models import ReviewItem

        runs = GaugeMetricFamily("datacollect_runs_open", "Runs not ended yet, by status", labels=["status"])
        waits = GaugeMetricFamily("datacollect_activations_waiting",
                                  "Nodes waiting for a timer or an event (a form, a review, a webhook)")
        due = GaugeMetricFamily("datacollect_activations_due",
                                "Nodes whose timer is due and not yet resumed (scheduler lag)")
        review_open = GaugeMetricFamily("datacollect_review_items_open", "Review items waiting for a decision",
                                        labels=["queue", "status"])
        review_late = GaugeMetricFamily("datacollect_review_items_overdue", "Open review items past their SLA",
                                        labels=["queue"])
        requests = GaugeMetricFamily("datacollect_form_requests_open",
                                     "Form requests not answered yet, by state", labels=["state"])
        up = GaugeMetricFamily("datacollect_database_up", "1 when the database answered the scrape's queries")
        now = datetime.now(UTC)
        try:
            with self.db.engine.connect() as c:
                for status, n in c.execute(select(Run.status, func.count()).where(
                        Run.status.in_(("pending", "running", "waiting"))).group_by(Run.status)):
                    runs.add_metric([status], n)
                waits.add_metric([], c.scalar(select(func.count()).select_from(Activation)
                                              .where(Activation.status == "waiting")) or 0)
                due.add_metric([], c.scalar(select(func.count()).select_from(Activation).where(
                    Activation.status == "waiting", Activation.wake_at <= now)) or 0)
                open_ = ("pending", "in_review", "escalated")
                for queue, status, n in c.execute(select(ReviewItem.queue, ReviewItem.status, func.count())
                                                  .where(ReviewItem.status.in_(open_))
                                                  .group_by(ReviewItem.queue, ReviewItem.status)):
                    review_open.add_metric([queue, status], n)
                for queue, n in c.execute(select(ReviewItem.queue, func.count()).where(
                        ReviewItem.status.in_(open_), ReviewItem.due_at <= now).group_by(ReviewItem.queue)):
                    review_late.add_metric([queue], n)
                for state, n in c.execute(select(FormRequest.state, func.count()).where(
                        FormRequest.state.in_(OPEN_REQUESTS)).group_by(FormRequest.state)):
                    requests.add_metric([state], n)
            up.add_metric([], 1)
        except Exception:
            log.warning("metrics: the database did not answer", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        yield from (runs, waits, due, review_open, review_late, requests, up)


def for_platform(db: Any, version: str, process: str) -> Metrics:
    m = Metrics()
    m.info.labels(version, process).set(1)
    m.registry.register(DatabaseCollector(db))
    return m


class HttpMetrics:
    """ASGI middleware counting requests by route template (``/api/runs/{run_id}``), never by
    raw path, so ids do not blow up the series; unknown paths count as ``unmatched``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            platform = getattr(getattr(scope.get("app"), "state", None), "platform", None)
            metrics: Metrics | None = getattr(platform, "metrics", None)
            if metrics is not None:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                if route == "/{path:path}":
                    route = "web app"
                method = scope.get("method", "")
                metrics.http_done(method, route, str(status), time.perf_counter() - start)


# -- the worker's and the scheduler's own metrics port ----------------------------------------
def prepare_multiprocess(folder: Any) -> None:
    """A prefork worker's pool processes each count in files in ``folder``; call this before
    anything counts in this process (the children inherit it)."""
    import os
    import shutil
    from pathlib import Path

    path = Path(folder)
    shutil.rmtree(path, ignore_errors=True)  # counts of an earlier life of this worker
    # folders of workers that stopped (named <prefix>-<pid>): their counts died with them
    prefix, _, _ = path.name.rpartition("-")
    for old in path.parent.glob(f"{prefix}-*") if prefix else []:
        pid = old.name.rpartition("-")[2]
        if pid.isdigit() and old != path and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    import prometheus_client.values

    prometheus_client.values.ValueClass = prometheus_client.values.get_value_class()


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def serve_multiprocess(port: int, host: str, db: Any) -> None:
    """Serve on ``port`` what every pool process counted, and the database gauges."""
    import os

    from prometheus_client import multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=os.environ["PROMETHEUS_MULTIPROC_DIR"])
    registry.register(DatabaseCollector(db))
    start_http_server(port, addr=host, registry=registry)


def serve(port: int, host: str, metrics: Metrics) -> None:
    from prometheus_client import start_http_server

    start_http_server(port, addr=host, registry=metrics.registry)
