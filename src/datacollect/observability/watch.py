"""What the platform does around each node execution, through the runner's ``watch`` hook (the
engine itself knows nothing of logs, metrics or traces): the log lines carry the run and node
ids, a span is opened, and once the node ran its outcome is counted and its duration observed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.trace import Status, StatusCode

from datacollect.observability.logs import log_context
from datacollect.observability.metrics import Metrics
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
    @contextmanager
    def watch(run: dict[str, Any], act: Any, node_type: str) -> Iterator[Callable[[Any], None]]:
        with log_context(workflow_id=run.get("workflow_id"), run_id=run.get("id"), node_id=act.node_id,
                         lane=act.lane or None), \
             node_span(node_type, act.node_id, str(run.get("id")), str(run.get("workflow_id")), act.lane or "",
                       act.attempts) as span:

            def done(after: Any) -> None:
                outcome = outcome_of(after)
                if outcome is None:  # not run here (handed over, held back by a limit, run ended)
                    return
                if metrics is not None:
                    metrics.node_done(node_type, outcome, (after.duration_ms or 0.0) / 1000)
                if span is not None:
                    span.set_attribute("datacollect.outcome", outcome)
                    if outcome in ("failed", "retried", "error_routed"):
                        err = after.error if isinstance(after.error, dict) else {"message": str(after.error)}
                        span.set_status(Status(StatusCode.ERROR, str(err.get("message", ""))[:200]))

            yield done

    return watch
