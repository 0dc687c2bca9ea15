"""What the platform does around each node execution, through the runner's ``watch`` hook (the
engine itself knows nothing of logs, metrics or traces): the log lines carry the run and node
ids, a span is opened, and once the node ran its outcome is counted and its duration observed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry.trace import Status, StatusCode

from datacollect.observability.logs import pop_log_context, push_log_context
from datacollect.observability.metrics import Metrics
from datacollect.observability.tracing import enabled as tracing_enabled
from datacollect.observability.tracing import node_span


def outcome_of(act: Any) -> str | None:
    """What became of a node execution, from its activation afterwards; None when it did not run
    here (handed over to another queue, held back by a concurrency limit, the run had ended)."""
    err = act.error if isinstance(act.error, dict) else None
    if act.status == "completed":
        return "error_routed" if err else "completed"
    if act.status == "waiting":
        return "suspended"
    if act.status == "failed":
        return "failed"
    if act.status == "ready" and err and err.get("will_retry"):
        return "retried"
    return None


def node_watcher(metrics: Metrics | None) -> Callable[[dict[str, Any], Any, str], Any]:
    def watch(run: dict[str, Any], act: Any, node_type: str) -> _NodeWatch:
        return _NodeWatch(metrics, run, act, node_type)

    return watch


class _NodeWatch:
    """The context manager around one node execution. A class rather than nested generator
    context managers: it runs around every node of every run."""

    __slots__ = ("metrics", "run", "act", "node_type", "token", "span_cm", "span")

    def __init__(self, metrics: Metrics | None, run: dict[str, Any], act: Any, node_type: str) -> None:
        self.metrics = metrics
        self.run = run
        self.act = act
        self.node_type = node_type
        self.span_cm: Any = None
        self.span: Any = None

    def __enter__(self) -> Callable[[Any], None]:
        run, act = self.run, self.act
        self.token = push_log_context({"workflow_id": run.get("workflow_id"), "run_id": run.get("id"),
                                       "node_id": act.node_id, "lane": act.lane or None})
        if tracing_enabled():
            try:
                self.span_cm = node_span(self.node_type, act.node_id, str(run.get("id")),
                                         str(run.get("workflow_id")), act.lane or "", act.attempts)
                self.span = self.span_cm.__enter__()
            except BaseException:
                pop_log_context(self.token)
                raise
        return self.done

    def __exit__(self, *exc: Any) -> bool | None:
        try:
            if self.span_cm is not None:
                return self.span_cm.__exit__(*exc)  # type: ignore[no-any-return]
            return None
        finally:
            pop_log_context(self.token)

    def done(self, after: Any) -> None:
        outcome = outcome_of(after)
        if outcome is None:  # not run here (handed over, held back by a limit, run ended)
            return
        if self.metrics is not None:
            self.metrics.node_done(self.node_type, outcome, (after.duration_ms or 0.0) / 1000)
        span = self.span
        if span is not None:
            span.set_attribute("datacollect.outcome", outcome)
            if outcome in ("failed", "retried", "error_routed"):
                err = after.error if isinstance(after.error, dict) else {"message": str(after.error)}
                span.set_status(Status(StatusCode.ERROR, str(err.get("message", ""))[:200]))
