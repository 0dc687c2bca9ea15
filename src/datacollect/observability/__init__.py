"""Observability (DESIGN §11): structured logs with run and node ids, Prometheus metrics at
``/metrics``, and OpenTelemetry traces across the API, the worker and each node."""
