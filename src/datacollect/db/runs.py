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


def read_run(session: Session, run_id: str, with_data: bool = True) -> dict[str, Any]:
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
        "input": a.input if with_data else None, "output": a.output if with_data else None, "error": a.error,
        "started_at": a.started_at, "finished_at": a.finished_at, "duration_ms": a.duration_ms,
        "item_count": a.item_count, "wake_at": a.wake_at, "wait_for": a.wait_for} for a in acts]
    return out
