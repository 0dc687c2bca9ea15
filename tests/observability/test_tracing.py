"""Traces: a webhook call is one trace, the HTTP request's span with a child span per node
execution that names the workflow, run and node; a failing node's span says so; the trace
context travels in the headers of a message to a worker and is picked up there."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from datacollect.api.app import create_app
from datacollect.config import Settings
from datacollect.nodes.builtin import NODES
from datacollect.nodes.registry import NodeRegistry
from datacollect.observability import tracing
from datacollect.platform import Platform
from tests.engine.helpers import TEST_NODES, node, run_row, save, wf

_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """Tracing on for this test only, into memory (the provider is set once per process)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    monkeypatch.setattr(tracing, "_enabled", True)
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


@pytest.fixture
async def client(settings: Settings, spans: InMemorySpanExporter) -> AsyncIterator[tuple[httpx.AsyncClient, Platform]]:
    platform = Platform.create(settings, registry=NodeRegistry([*NODES, *TEST_NODES]))
    app = create_app(settings, platform, scheduler=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            yield c, platform


def by_name(spans: InMemorySpanExporter) -> dict[str, Any]:
    return {s.name: s for s in spans.get_finished_spans()}


async def test_a_webhook_call_is_one_trace_with_a_span_per_node(client: Any, spans: InMemorySpanExporter) -> None:
    c, platform = client
    save(platform, wf("traced", [node("in", "WebhookTrigger", endpoint_path="traced", respond="last_node"),
                                 node("map", "DataMapper", mapping_rules=[{"from": "value", "to": "v"}])],
                      [("in", "map")], active=True))
    r = await c.post("/webhook/traced", json={"value": 7})
    assert r.status_code == 200, r.text

    found = by_name(spans)
    http = next(s for s in found.values() if s.kind == trace.SpanKind.SERVER)
    mapper = found["node DataMapper"]
    assert mapper.context.trace_id == http.context.trace_id and mapper.parent is not None
    assert mapper.attributes["datacollect.workflow_id"] == "traced"
    assert mapper.attributes["datacollect.node_id"] == "map"
    assert run_row(platform, mapper.attributes["datacollect.run_id"])["status"] == "completed"
    assert mapper.attributes["datacollect.outcome"] == "completed"
    # probes and scrapes are not traced
    spans.clear()
    await c.get("/healthz")
    assert not spans.get_finished_spans()


async def test_a_failing_nodes_span_is_marked_as_an_error(client: Any, spans: InMemorySpanExporter) -> None:
    c, platform = client
    save(platform, wf("fails", [node("in", "WebhookTrigger", endpoint_path="fails", respond="last_node"),
                                node("flaky", "TestFlaky", failures=5)], [("in", "flaky")], active=True))
    await c.post("/webhook/fails", json={"value": 1})
    flaky = by_name(spans)["node TestFlaky"]
    assert flaky.status.status_code == StatusCode.ERROR
    assert flaky.attributes["datacollect.outcome"] == "failed"


def test_the_trace_context_travels_in_a_messages_headers(spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("api request") as sent:
        headers = tracing.carrier()
    assert headers["traceparent"].split("-")[1] == format(sent.get_span_context().trace_id, "032x")
    with tracing.continued(headers), tracer.start_as_current_span("worker task") as received:
        onward = tracing.carrier()  # what the worker would pass on in turn
    assert received.get_span_context().trace_id == sent.get_span_context().trace_id
    assert received.parent.span_id == sent.get_span_context().span_id
    assert onward["traceparent"].split("-")[2] == format(received.get_span_context().span_id, "016x")
    with tracing.continued({}), tracer.start_as_current_span("on its own") as alone:
        assert tracing.carrier()["traceparent"].split("-")[1] != headers["traceparent"].split("-")[1]
    assert alone.get_span_context().trace_id != sent.get_span_context().trace_id
