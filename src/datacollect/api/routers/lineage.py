"""Lineage: where an exported record came from (``GET /api/lineage?external_ref=...``, or by
form response or run). See :mod:`datacollect.integrations.lineage` for the answer's shape."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from datacollect.api.deps import PlatformDep, SessionDep, require
from datacollect.errors import InvalidInput
from datacollect.integrations.lineage import lineage

router = APIRouter(prefix="/api/lineage", tags=["lineage"])


class LineageRead(BaseModel):
    export: dict[str, Any] = Field(description="The record as sent, its reference, status and document key.")
    source: dict[str, Any] = Field(description="The run, node, lane and item it was exported from.")
    response: dict[str, Any] | None = Field(None, description="The form response it came from, with its trail.")
    review: dict[str, Any] | None = Field(None, description="The review decision the item carried.")
    events: list[dict[str, Any]] = Field(description="The steps that led to the export, oldest first, each "
                                                     "with the item as it left the step.")


class LineagePage(BaseModel):
    data: list[LineageRead]
    count: int


@router.get("", response_model=LineagePage, operation_id="lineage-read", dependencies=[require("runs:read")])
def read_lineage(platform: PlatformDep, session: SessionDep,
                 external_ref: str | None = Query(None, description="The reference in the ERP (or the item key)."),
                 response_id: str | None = Query(None, description="Every export of this form response."),
                 run_id: str | None = Query(None, description="Every export of this run.")) -> LineagePage:
    if not (external_ref or response_id or run_id):
        raise InvalidInput("Name the record: external_ref, response_id or run_id")
    rows = lineage(session, platform.store, platform.registry, external_ref=external_ref, response_id=response_id,
                   run_id=run_id)
    return LineagePage(data=[LineageRead(**r) for r in rows], count=len(rows))
