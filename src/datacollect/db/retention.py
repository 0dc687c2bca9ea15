"""Execution data kept under a policy (DESIGN §13): the database does not bloat.

Two steps, for finished runs only (completed, failed, cancelled; a waiting run is never touched):

- **node data**: ``run_data_days`` after a run finished, its nodes' inputs, outputs, states and
  events and its trigger data are removed; the run's summary stays (status, times, errors, item
  counts per node), marked ``data_pruned_at``. Default ``DATACOLLECT_RUN_DATA_DAYS`` (30).
- **whole runs**: runs finished more than ``keep_days`` ago, and beyond the newest ``keep_count``
  finished runs of their workflow, are deleted with their activations. Defaults
  ``DATACOLLECT_RUN_KEEP_DAYS`` and ``DATACOLLECT_RUN_KEEP_COUNT`` (unset: kept).

A workflow's ``settings.retention`` (``{"run_data_days": 7, "keep_days": 90, "keep_count": 1000}``)
wins over the defaults. The scheduler sweeps every ``DATACOLLECT_RETENTION_INTERVAL`` seconds in
batches, so one sweep never holds the database for long.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update

from datacollect.db.models import Activation, Run, Workflow, WorkflowVersion
from datacollect.db.run_data import attached

log = logging.getLogger("datacollect.retention")

FINISHED = ("completed", "failed", "cancelled")
BATCH = 500


@dataclass(frozen=True)
class Policy:
    run_data_days: float | None = None
    keep_days: float | None = None
    keep_count: int | None = None

    def over(self, own: dict[str, Any] | None) -> Policy:
        """This policy with a workflow's own ``settings.retention`` on top."""
        if not isinstance(own, dict):
            return self
        return Policy(run_data_days=own.get("run_data_days", self.run_data_days),
                      keep_days=own.get("keep_days", self.keep_days),
                      keep_count=int(own["keep_count"]) if own.get("keep_count") else self.keep_count)


def _now() -> datetime:
    return datetime.now(UTC)


def policies(session: Any, default: Policy) -> dict[str, Policy]:
    """Each workflow's policy (its current version's settings over the defaults)."""
    out: dict[str, Policy] = {}
    q = (select(Workflow.id, WorkflowVersion.definition)
         .join(WorkflowVersion, (WorkflowVersion.workflow_id == Workflow.id)
               & (WorkflowVersion.version == Workflow.current_version)))
    for wid, definition in session.execute(q):
        out[wid] = default.over(((definition or {}).get("settings") or {}).get("retention"))
    return out


def prune_data(db: Any, workflow_id: str | None, older_than: datetime, limit: int = BATCH) -> int:
    """Remove the node data of up to ``limit`` finished runs that ended before ``older_than``
    (of one workflow, or of workflows without a policy of their own when None is given with
    ``others``); answers how many runs were pruned."""
    with db.write() as s:
        q = select(Run.id).where(Run.status.in_(FINISHED), Run.finished_at < older_than,
                                 Run.data_pruned_at.is_(None))
        if workflow_id is not None:
            q = q.where(Run.workflow_id == workflow_id)
        ids = list(s.scalars(q.order_by(Run.finished_at).limit(limit)))
        if not ids:
            return 0
        store = attached(db.engine)
        blobs = store.holders(s, Activation.__table__, Activation.run_id.in_(ids)) if store else []
        s.execute(update(Activation).where(Activation.run_id.in_(ids))
                  .values(input=None, output=None, state=None, event=None))
        s.execute(update(Run).where(Run.id.in_(ids)).values(trigger=None, data_pruned_at=_now()))
    if store and blobs:
        store.delete_activations(blobs)
    return len(ids)


def delete_runs(db: Any, ids: list[str]) -> int:
    if not ids:
        return 0
    with db.write() as s:
        store = attached(db.engine)
        blobs = store.holders(s, Activation.__table__, Activation.run_id.in_(ids)) if store else []
        s.execute(delete(Activation).where(Activation.run_id.in_(ids)))
        s.execute(delete(Run).where(Run.id.in_(ids)))
    if store and blobs:  # the run data they kept in the blob store goes with them (DESIGN §13)
        store.delete_activations(blobs)
    return len(ids)


def old_runs(db: Any, workflow_id: str, *, older_than: datetime | None, beyond: int | None,
             limit: int = BATCH) -> list[str]:
    """Finished runs of a workflow past its age, or past its newest ``beyond`` finished runs."""
    out: list[str] = []
    with db.session() as s:
        if older_than is not None:
            out += list(s.scalars(select(Run.id).where(Run.workflow_id == workflow_id, Run.status.in_(FINISHED),
                                                       Run.finished_at < older_than)
                                  .order_by(Run.finished_at).limit(limit)))
        if beyond is not None and len(out) < limit:
            total = s.scalar(select(func.count()).select_from(Run).where(
                Run.workflow_id == workflow_id, Run.status.in_(FINISHED))) or 0
            if total > beyond:
                out += [i for i in s.scalars(select(Run.id).where(Run.workflow_id == workflow_id,
                                                                  Run.status.in_(FINISHED))
                                             .order_by(Run.finished_at).limit(min(limit, total - beyond)))
                        if i not in out]
    return out[:limit]


def sweep(db: Any, default: Policy, at: datetime | None = None) -> dict[str, int]:
    """One pass over every workflow: answers how many runs were pruned and deleted."""
    at = at or _now()
    with db.session() as s:
        each = policies(s, default)
    pruned = deleted = 0
    for wid, p in each.items():
        if p.keep_days is not None or p.keep_count is not None:
            while True:
                ids = old_runs(db, wid, older_than=at - timedelta(days=p.keep_days) if p.keep_days else None,
                               beyond=p.keep_count)
                deleted += delete_runs(db, ids)
                if len(ids) < BATCH:
                    break
        if p.run_data_days is not None:
            while (n := prune_data(db, wid, at - timedelta(days=p.run_data_days))) == BATCH:
                pruned += n
            pruned += n
    if pruned or deleted:
        log.info("retention: node data of %d finished run(s) removed, %d run(s) deleted", pruned, deleted)
    return {"pruned": pruned, "deleted": deleted}


class RunRetention:
    """The scheduler's hook: a sweep every ``interval`` seconds, off the event loop."""

    def __init__(self, db: Any, default: Policy, interval: float) -> None:
        self.db = db
        self.default = default
        self.interval = interval
        self._at = time.monotonic()  # the first sweep after one interval, not at start

    async def tick(self) -> None:
        if time.monotonic() - self._at < self.interval:
            return
        self._at = time.monotonic()
        try:
            await asyncio.to_thread(sweep, self.db, self.default)
        except Exception:  # the next sweep tries again
            log.exception("the run retention sweep failed")
