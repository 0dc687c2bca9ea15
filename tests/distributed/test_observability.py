"""Observability of the distributed shape with real processes: a worker serves what its pool
processes counted on its metrics port, and its node spans join the trace of the API request
that made the work, sent over OTLP/HTTP to a collector (here a receiver on loopback that reads
the OTLP protobuf messages)."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import free_port
from tests.distributed.cluster import FIVE_NODE_TABLE, five_node_workflow

pytestmark = [pytest.mark.postgres, pytest.mark.distributed]

ADMIN = {"username": "admin@example.com", "password": "distributed-password"}


class Collector(ThreadingHTTPServer):
    """Receives OTLP/HTTP trace exports: (service, span name, trace id, kind) per span."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str, str, int]] = []
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:  # noqa: N802 - the handler's API
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest.FromString(body)
        for rs in request.resource_spans:
            service = next((a.value.string_value for a in rs.resource.attributes if a.key == "service.name"), "")
            for ss in rs.scope_spans:
                for span in ss.spans:
                    self.server.spans.append((service, span.name, span.trace_id.hex(), span.kind))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def scraped(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


def test_a_workers_metrics_count_its_nodes_and_its_spans_join_the_api_trace(cluster: Any, collector: Collector) -> None:
    c, pg = cluster
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}/v1/traces"
    c.env.update(DATACOLLECT_ADMIN_EMAIL=ADMIN["username"], DATACOLLECT_ADMIN_PASSWORD=ADMIN["password"],
                 DATACOLLECT_OTEL_ENDPOINT=endpoint, OTEL_BSP_SCHEDULE_DELAY="200")
    metrics_port = free_port()
    c.worker("w1", 2, DATACOLLECT_METRICS_PORT=str(metrics_port))
    http = httpx.Client(base_url=c.api(free_port()), timeout=30)
    token = http.post("/api/auth/token", data=ADMIN).json()["access_token"]
    pg.execute(f"CREATE TABLE {FIVE_NODE_TABLE} (supplier_id text, co2_t float, co2_kg float, run_id text)")
    r = http.post("/api/workflows", json=five_node_workflow(c.db_url), headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text

    for i in range(5):
        assert http.post("/webhook/figures", json={"supplier_id": f"S-{i}", "co2_t": i + 0.5}).status_code == 200

    def counted() -> bool:
        found = scraped(metrics_port)
        return found.get(("datacollect_node_executions_total", (("outcome", "completed"),
                                                                 ("type", "DatabaseWrite")))) == 5
    c.wait_for(counted, 30, "the worker's metrics did not count 5 DatabaseWrite executions", "w1")
    found = scraped(metrics_port)
    assert found[("datacollect_runs_finished_total", (("status", "completed"), ("workflow", "five-node")))] == 5
    assert found[("datacollect_database_up", ())] == 1

    def joined() -> set[str]:
        api = {t for s, _, t, kind in collector.spans if s == "datacollect-api" and kind == 2}  # SERVER
        worker = {t for s, name, t, _ in collector.spans if s == "datacollect-worker" and name == "node DatabaseWrite"}
        return api & worker

    deadline = time.monotonic() + 30
    while len(joined()) < 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(joined()) == 5, collector.spans
