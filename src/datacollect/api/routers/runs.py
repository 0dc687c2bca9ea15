"""Runs: list with filters, one run with its activations, cancel, retry."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query

from datacollect.api.deps import PlatformDep, Principal, SessionDep, require
from datacollect.api.schemas import Page, RetryCreate, RunRead, RunSummary
from datacollect.db import runs as svc
from datacollect.engine.secrets import mask_definition
from datacollect.errors import Conflict
from datacollect.platform import Platform

router = APIRouter(prefix="/api/runs", tags=["runs"])


def run_answer(platform: Platform, run_id: str) -> RunRead:
    with platform.db.sessions() as s:
        data = svc.read_run(s, run_id)
    return _shape(data, platform)


def _shape(data: dict, platform: Platform) -> RunRead:
    if data.get("definition"):
        data["definition"] = mask_definition(data["definition"], platform.registry)
    return RunRead(**data)


@router.get("", response_model=Page[RunSummary], operation_id="runs-list", dependencies=[require("runs:read")])
def list_runs(session: SessionDep, workflow_id: str | None = None, status: str | None = None,
              since: datetime | None = None, until: datetime | None = None, mode: str | None = None,
              page: int = Query(1, ge=1), page_size: int = Query(50, ge=1, le=500)) -> Page[RunSummary]:
    rows, total = svc.list_runs(session, workflow_id, status, since, until, mode, page, page_size)
    return Page(data=[RunSummary(**r) for r in rows], count=total)


@router.get("/{run_id}", response_model=RunRead, operation_id="runs-read", dependencies=[require("runs:read")])
def read_run(run_id: str, session: SessionDep, platform: PlatformDep,
             items: int = Query(svc.ITEMS, ge=1, le=100_000, description="Items per node input and per output "
                                "port at most; the rest are paged from .../activations/{id}/items")) -> RunRead:
    return _shape(svc.read_run(session, run_id, items=items), platform)


@router.get("/{run_id}/activations/{activation_id}/items", response_model=Page[Any], operation_id="runs-items",
            dependencies=[require("runs:read")])
def activation_items(run_id: str, activation_id: str, session: SessionDep,
                     side: Literal["input", "output"] = "output", port: str = "main",
                     offset: int = Query(0, ge=0), limit: int = Query(svc.ITEMS, ge=1, le=10_000)) -> Page[Any]:
    """A page of a node's input or of one of its output ports in a run (for nodes with more items
    than the run's answer holds)."""
    data, total = svc.activation_items(session, run_id, activation_id, side, port, offset, limit)
    return Page(data=data, count=total)


@router.post("/{run_id}/cancel", response_model=RunRead, operation_id="runs-cancel")
def cancel_run(run_id: str, platform: PlatformDep, p: Principal = require("runs:write")) -> RunRead:
    platform.runner.cancel_run(run_id)
    platform.audit(p.actor, "run.cancel", "run", run_id)
    return run_answer(platform, run_id)


@router.post("/{run_id}/retry", response_model=RunRead, operation_id="runs-retry")
async def retry_run(run_id: str, platform: PlatformDep, body: RetryCreate | None = None,
                    p: Principal = require("runs:write")) -> RunRead:
    with platform.db.sessions() as s:
        pruned = svc.read_run(s, run_id, with_data=False).get("data_pruned_at")
    if pruned:
        raise Conflict(f"The node data of this run was removed by the retention policy on {pruned:%Y-%m-%d}, so "
                       "it cannot be retried from its stored inputs; start a new run instead")
    await platform.runner.retry_run(run_id, body.from_node if body else None)
    platform.audit(p.actor, "run.retry", "run", run_id, after={"from_node": body.from_node if body else None})
    await platform.runner.wait_settled(run_id, platform.settings.webhook_wait_timeout)
    return run_answer(platform, run_id)
