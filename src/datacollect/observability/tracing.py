"""OpenTelemetry traces across the API, the worker and each node.

Off unless an OTLP endpoint is set (``DATACOLLECT_OTEL_ENDPOINT``, or the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``). When on: one span per
HTTP request (FastAPI instrumentation), one span per node execution with the workflow, run,
node, lane and attempt as attributes, children of the request that started or resumed the run;
activations sent to Celery workers carry the W3C ``traceparent`` in the message headers, so a
worker's node spans join the API's trace.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, Status, StatusCode

from datacollect import __version__

log = logging.getLogger(__name__)
tracer = trace.get_tracer("datacollect")
_enabled = False

#: paths never traced (probes, scrapes, static files)
EXCLUDED = "healthz,readyz,metrics,assets/.*"


def configure_tracing(endpoint: str | None, service: str, exporter: Any = None) -> bool:
    """Install the global tracer provider (once per process). ``exporter`` replaces the OTLP
    exporter (tests give an in-memory one). Answers whether tracing is on."""
    global _enabled
    if _enabled:
        return True
    endpoint = endpoint or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    generic = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if exporter is None and not (endpoint or generic):
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"datacollect-{service}",
                                                        "service.version": __version__}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # with only the generic variable the exporter reads it and adds /v1/traces itself
        exporter = OTLPSpanExporter(endpoint=endpoint) if endpoint else OTLPSpanExporter()
        provider.add_span_processor(BatchSpanProcessor(exporter))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _enabled = True
    log.info("tracing on: spans go to %s", endpoint or generic or type(exporter).__name__)
    return True


def enabled() -> bool:
    return _enabled


def trace_app(app: Any) -> None:
    """A span per HTTP request, when tracing is on."""
    if not _enabled:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls=EXCLUDED, tracer_provider=trace.get_tracer_provider())


@contextmanager
def node_span(node_type: str, node_id: str, run_id: str, workflow_id: str, lane: str,
              attempt: int) -> Iterator[Span | None]:
    """The span of one node execution (nothing when tracing is off)."""
    if not _enabled:
        yield None
        return
    with tracer.start_as_current_span(f"node {node_type}", kind=trace.SpanKind.INTERNAL, attributes={
            "datacollect.workflow_id": workflow_id, "datacollect.run_id": run_id, "datacollect.node_id": node_id,
            "datacollect.node_type": node_type, "datacollect.lane": lane, "datacollect.attempt": attempt,
    }, record_exception=False, set_status_on_exception=False) as span:
        yield span


def mark_failed(span: Span | None, exc: BaseException) -> None:
    if span is not None:
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, str(exc)[:200]))


def carrier() -> dict[str, str]:
    """The current trace context as message headers (empty when tracing is off or no span)."""
    if not _enabled:
        return {}
    out: dict[str, str] = {}
    propagate.inject(out)
    return out


@contextmanager
def continued(headers: dict[str, Any] | None) -> Iterator[None]:
    """Run inside the trace the headers carry (a worker continuing the API's trace)."""
    if not _enabled or not headers or "traceparent" not in headers:
        yield
        return
    token = otel_context.attach(propagate.extract({k: str(v) for k, v in headers.items() if isinstance(k, str)}))
    try:
        yield
    finally:
        otel_context.detach(token)
