"""Health, examples, named mappings, data sources and the audit log."""

from __future__ import annotations

import hmac
import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from sqlalchemy import text

from datacollect.api.deps import PlatformDep, Principal, SessionDep, current_principal, oauth2, require
from datacollect.api.schemas import (
    AuditRead,
    DataSourceRead,
    DataSourceWrite,
    ExampleRead,
    MappingRead,
    MappingWrite,
    Page,
)
from datacollect.db import catalog
from datacollect.errors import PermissionDenied
from datacollect.observability.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from datacollect.security import audit

router = APIRouter()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"  # src/datacollect/examples


@router.get("/healthz", tags=["health"], operation_id="health-live")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["health"], operation_id="health-ready")
def readyz(platform: PlatformDep, response: Response) -> dict[str, Any]:
    try:
        with platform.db.engine.connect() as c:
            c.execute(text("SELECT 1"))
        return {"status": "ready", "database": "ok"}
    except Exception as exc:  # the probe must answer, not raise
        response.status_code = 503
        return {"status": "not ready", "database": type(exc).__name__}


@router.get("/metrics", tags=["health"], operation_id="metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}})
def metrics(request: Request, platform: PlatformDep, token: Annotated[str | None, Depends(oauth2)],
            x_api_key: Annotated[str | None, Header()] = None) -> Response:
    """Prometheus metrics of this process and of the database (runs, waits, review queues, form
    requests). Scrape it with ``DATACOLLECT_METRICS_TOKEN`` as a bearer token, or as an admin."""
    expected = platform.settings.metrics_token
    if not (expected and token and hmac.compare_digest(token.encode(), expected.encode())):
        p = current_principal(request, token, x_api_key)
        if not p.can("metrics:read"):
            raise PermissionDenied(f"Your role ({p.role}) may not read the metrics (it needs 'metrics:read')")
    assert platform.metrics is not None
    return Response(platform.metrics.render(), media_type=METRICS_CONTENT_TYPE)


@router.get("/api/examples", response_model=Page[ExampleRead], tags=["workflows"], operation_id="examples-list",
            dependencies=[require("workflows:read")])
def examples() -> Page[ExampleRead]:
    out = []
    for f in sorted((EXAMPLES / "workflows").glob("*.json")):
        d = json.loads(f.read_text())
        out.append(ExampleRead(id=d["id"], name=d.get("name", d["id"]), description=d.get("description", ""),
                               definition=d))
    return Page(data=out, count=len(out))


@router.get("/api/mappings", response_model=Page[MappingRead], tags=["mappings"], operation_id="mappings-list",
            dependencies=[require("workflows:read")])
def list_mappings(session: SessionDep) -> Page[MappingRead]:
    rows = catalog.list_mappings(session)
    return Page(data=[_mapping(m) for m in rows], count=len(rows))


def _mapping(m: Any) -> MappingRead:
    return MappingRead(name=m.name, description=m.description, definition=m.definition, updated_at=m.updated_at)


@router.put("/api/mappings/{name}", response_model=MappingRead, tags=["mappings"], operation_id="mappings-put")
def put_mapping(platform: PlatformDep, name: str, body: MappingWrite,
                p: Principal = require("mappings:write")) -> MappingRead:
    with platform.db.write() as session:
        return _mapping(catalog.put_mapping(session, name, body.definition, body.description, p.actor))


@router.delete("/api/mappings/{name}", status_code=status.HTTP_204_NO_CONTENT, tags=["mappings"],
               operation_id="mappings-delete")
def delete_mapping(platform: PlatformDep, name: str, p: Principal = require("mappings:write")) -> Response:
    with platform.db.write() as session:
        catalog.delete_mapping(session, name, p.actor)
    return Response(status_code=204)


def _source(d: Any) -> DataSourceRead:
    return DataSourceRead(name=d.name, description=d.description, rows=d.rows, updated_at=d.updated_at)


@router.get("/api/data-sources", response_model=Page[DataSourceRead], tags=["data-sources"],
            operation_id="datasources-list", dependencies=[require("workflows:read")])
def list_sources(session: SessionDep) -> Page[DataSourceRead]:
    rows = catalog.list_sources(session)
    return Page(data=[_source(d) for d in rows], count=len(rows))


@router.put("/api/data-sources/{name}", response_model=DataSourceRead, tags=["data-sources"],
            operation_id="datasources-put")
def put_source(platform: PlatformDep, name: str, body: DataSourceWrite,
               p: Principal = require("workflows:write")) -> DataSourceRead:
    with platform.db.write() as session:
        return _source(catalog.put_source(session, name, body.rows, body.description, p.actor))


@router.get("/api/audit", response_model=Page[AuditRead], tags=["audit"], operation_id="audit-list",
            dependencies=[require("audit:read")])
def list_audit(session: SessionDep, entity_type: str | None = None, entity_id: str | None = None,
               page: int = Query(1, ge=1), page_size: int = Query(100, ge=1, le=1000)) -> Page[AuditRead]:
    rows, total = audit.list_entries(session, entity_type, entity_id, page_size, (page - 1) * page_size)
    return Page(data=[AuditRead.model_validate(r) for r in rows], count=total)
