"""Reading runs and their activations for the API and the CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datacollect.db.models import Activation, Run, Workflow, WorkflowVersion
from datacollect.errors import InvalidInput, NotFound

STATUSES = ("pending", "running", "waiting", "completed", "failed", "cancelled")


def summary(run: Run, names: dict[str, str] | None = None) -> dict[str, Any]:
    duration = None
    if run.started_at and run.finished_at:
        duration = round((run.finished_at - run.started_at).total_seconds() * 1000, 3)
    return {"id": run.id, "workflow_id": run.workflow_id, "workflow_name": (names or {}).get(run.workflow_id),
            "version": run.version, "status": run.status, "mode": run.mode, "started_at": run.started_at,
            "finished_at": run.finished_at, "duration_ms": duration, "error": run.error, "retries": run.retries,
            "parent_run_id": run.parent_run_id, "data_pruned_at": run.data_pruned_at}


def list_runs(session: Session, workflow_id: str | None = None, status: str | None = None,
              since: datetime | None = None, until: datetime | None = None, mode: str | None = None,
              page: int = 1, page_size: int = 50) -> tuple[list[dict[str, Any]], int]:
    q = select(Run)
    if workflow_id:
        q = q.where(Run.workflow_id == workflow_id)
    if status:
        wanted = [s.strip() for s in status.split(",") if s.strip()]
        bad = [s for s in wanted if s not in STATUSES]
        if bad:
            raise InvalidInput(f"Unknown run status {', '.join(bad)}; statuses are {', '.join(STATUSES)}")
        q = q.where(Run.status.in_(wanted))
    if since:
        q = q.where(Run.created_at >= since)
    if until:
        q = q.where(Run.created_at <= until)
    if mode:
        q = q.where(Run.mode == mode)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    runs = list(session.scalars(q.order_by(Run.created_at.desc(), Run.id).limit(page_size).offset((page - 1) * page_size)))
    names = dict(session.execute(select(Workflow.id, Workflow.name).where(
        Workflow.id.in_({r.workflow_id for r in runs}))).all()) if runs else {}
    return [summary(r, names) for r in runs], total


#: items per list (a node's input, each of its output ports) a run's answer carries at most
ITEMS = 1000


def capped(items: Any, limit: int | None) -> tuple[Any, int | None]:
    """A list cut to ``limit`` items, and how many it had when it was cut (else None)."""
    if limit is None or not isinstance(items, list) or len(items) <= limit:
        return items, None
    return items[:limit], len(items)


def _data(a: Activation, limit: int | None) -> dict[str, Any]:
    inp, input_total = capped(a.input, limit)
    out, totals = a.output, {}
    if isinstance(a.output, dict):
        out = {}
        for port, items in a.output.items():
            out[port], n = capped(items, limit)
            if n is not None:
                totals[port] = n
    return {"input": inp, "output": out, "input_total": input_total, "output_totals": totals or None}


def activation_items(session: Session, run_id: str, activation_id: str, side: str, port: str,
                     offset: int, limit: int) -> tuple[list[Any], int]:
    """A page of one activation's input, or of one of its output ports, and how many there are."""
    a = session.get(Activation, activation_id)
    if a is None or a.run_id != run_id:
        raise NotFound(f"Run '{run_id}' has no activation '{activation_id}'")
    if side == "input":
        items = a.input
    else:
        outputs = a.output if isinstance(a.output, dict) else {}
        if port not in outputs:
            ports = ", ".join(sorted(outputs)) or "none"
            raise NotFound(f"Node '{a.node_id}' put out nothing on port '{port}' (its ports: {ports})")
        items = outputs[port]
    items = items if isinstance(items, list) else []
    return items[offset:offset + limit], len(items)


def read_run(session: Session, run_id: str, with_data: bool = True, items: int | None = ITEMS) -> dict[str, Any]:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound(f"Run '{run_id}' does not exist")
    name = session.scalar(select(Workflow.name).where(Workflow.id == run.workflow_id))
    out = summary(run, {run.workflow_id: name} if name else {})
    v = session.get(WorkflowVersion, run.version_id)
    out.update(trigger=run.trigger, trigger_node=run.trigger_node, definition=v.definition if v else None)
    acts = list(session.scalars(select(Activation).where(Activation.run_id == run_id)
                                .order_by(Activation.started_at.is_(None), Activation.started_at, Activation.lane)))
    out["activations"] = [{
        "id": a.id, "node_id": a.node_id, "lane": a.lane, "status": a.status, "attempts": a.attempts,
        **(_data(a, items) if with_data else {"input": None, "output": None}), "error": a.error,
        "started_at": a.started_at, "finished_at": a.finished_at, "duration_ms": a.duration_ms,
        "item_count": a.item_count, "wake_at": a.wake_at, "wait_for": a.wait_for} for a in acts]
    return out
