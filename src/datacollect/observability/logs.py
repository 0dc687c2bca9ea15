"""Logs as text for a person at a terminal, or as JSON lines for a log pipeline
(``DATACOLLECT_LOG_JSON=true``). Every line written while a node runs carries the run, node and
workflow ids (and the trace and span ids when tracing is on), so one run's lines can be found
across the API and the workers."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from pythonjsonlogger.json import JsonFormatter

#: the ids a log line carries, set for the time a run or a node is being worked on
_CONTEXT: ContextVar[dict[str, str] | None] = ContextVar("datacollect_log_context", default=None)
FIELDS = ("workflow_id", "run_id", "node_id", "lane")


@contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """Lines logged inside carry these ids (None values are left out), on top of the outer ones."""
    token = push_log_context(ids)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def push_log_context(ids: dict[str, Any]) -> Token[dict[str, str] | None]:
    """``log_context`` without the context manager (for a hot path): lines logged until
    ``pop_log_context(token)`` carry these ids."""
    outer = _CONTEXT.get()
    return _CONTEXT.set({**(outer or {}), **{k: str(v) for k, v in ids.items() if v is not None}})


def pop_log_context(token: Token[dict[str, str] | None]) -> None:
    _CONTEXT.reset(token)


def current_context() -> dict[str, str]:
    return dict(_CONTEXT.get() or {})


class ContextFilter(logging.Filter):
    """Puts the run/node ids and the current trace and span ids on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _CONTEXT.get()
        for name in FIELDS:
            setattr(record, name, (ctx or {}).get(name))
        record.trace_id = record.span_id = None
        try:
            from opentelemetry import trace

            span = trace.get_current_span().get_span_context()
            if span.is_valid:
                record.trace_id = format(span.trace_id, "032x")
                record.span_id = format(span.span_id, "016x")
        except ImportError:  # pragma: no cover - tracing is an installed dependency
            pass
        return True


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message [run=… node=…]``."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = " ".join(f"{k.removesuffix('_id')}={v}" for k in ("run_id", "node_id")
                       if (v := getattr(record, k, None)))
        return f"{line} [{ids}]" if ids else line


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
        json_ensure_ascii=False,
    )


def configure_logging(json_lines: bool = False, level: str | int = logging.INFO) -> None:
    """One handler on the root logger, to stderr, with the context filter; replaces what was there."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(json_formatter() if json_lines
                         else TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "celery"):
        lg = logging.getLogger(name)
        lg.handlers = []
        lg.propagate = True
