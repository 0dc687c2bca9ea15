"""Connections: typed credentials, created, changed, tested, never shown (DESIGN §9, §10).

Answers carry the public fields of a connection and, for each secret field, only whether it is
set. ``POST /api/connections/{id}/test`` tries the connection and says which stage failed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from datacollect.api.deps import PlatformDep, Principal, SessionDep, require
from datacollect.api.schemas import Page
from datacollect.integrations import connections as svc
from datacollect.integrations.connection_tests import test_connection
from datacollect.integrations.http_auth import forget
from datacollect.integrations.hub import hub_of

router = APIRouter(prefix="/api/connections", tags=["connections"])


class ConnectionCreate(BaseModel):
    id: str | None = Field(None, description="The id nodes use; made from the name when left out.")
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(description=f"One of {', '.join(svc.KINDS)}.")
    config: dict[str, Any] = Field(default_factory=dict, description="The fields of the kind, secrets included.")


class ConnectionUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    config: dict[str, Any] | None = Field(None, description="Fields to change; secrets left out keep their value.")


class ConnectionTestRead(BaseModel):
    ok: bool
    stage: str = Field(description="ok, or where it failed: config, dns, connect, tls, protocol, auth, permission, "
                                   "not_found, server.")
    message: str
    status: int | None = None
    checked: list[str] = []
    duration_ms: float | None = None
    at: datetime | None = None


class ConnectionRead(BaseModel):
    id: str
    name: str
    kind: str
    config: dict[str, Any]
    secrets: dict[str, bool] = Field(description="For each secret field, whether it is set (never its value).")
    created_at: datetime
    updated_at: datetime
    created_by: str | None = None
    last_test: ConnectionTestRead | None = None


class ConnectionKindRead(BaseModel):
    kind: str
    secrets: list[str]
    config_schema: dict[str, Any]


def _read(conn: Any) -> ConnectionRead:
    return ConnectionRead(**svc.public_view(conn))


def _box(platform: Any) -> Any:
    hub = hub_of(platform.services)
    assert hub is not None
    return hub.box


@router.get("", response_model=Page[ConnectionRead], operation_id="connections-list",
            dependencies=[require("workflows:read")])
def list_connections(session: SessionDep, kind: str | None = None) -> Page[ConnectionRead]:
    rows = svc.list_connections(session, kind)
    return Page(data=[_read(c) for c in rows], count=len(rows))


@router.get("/kinds", response_model=list[ConnectionKindRead], operation_id="connections-kinds",
            dependencies=[require("workflows:read")])
def connection_kinds() -> list[ConnectionKindRead]:
    out = []
    for kind, model in svc.SETTINGS.items():
        schema = model.model_json_schema()
        secrets = list(svc.secret_fields(kind))
        for name in secrets:
            prop = schema.get("properties", {}).get(name)
            if isinstance(prop, dict):
                prop["writeOnly"] = True
        out.append(ConnectionKindRead(kind=kind, secrets=secrets, config_schema=schema))
    return out


@router.post("", response_model=ConnectionRead, status_code=status.HTTP_201_CREATED,
             operation_id="connections-create")
def create_connection(platform: PlatformDep, body: ConnectionCreate,
                      p: Principal = require("connections:write")) -> ConnectionRead:
    with platform.db.write() as session:
        conn = svc.create_connection(session, _box(platform), body.model_dump(), p.actor)
        return _read(conn)


@router.get("/{connection_id}", response_model=ConnectionRead, operation_id="connections-read",
            dependencies=[require("workflows:read")])
def read_connection(connection_id: str, session: SessionDep) -> ConnectionRead:
    return _read(svc.get_connection(session, connection_id))


@router.patch("/{connection_id}", response_model=ConnectionRead, operation_id="connections-update")
def update_connection(connection_id: str, platform: PlatformDep, body: ConnectionUpdate,
                      p: Principal = require("connections:write")) -> ConnectionRead:
    with platform.db.write() as session:
        conn = svc.update_connection(session, _box(platform), connection_id, body.model_dump(exclude_none=True),
                                     p.actor)
        answer = _read(conn)
    forget(connection_id)
    return answer


@router.delete("/{connection_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="connections-delete")
def delete_connection(connection_id: str, platform: PlatformDep,
                      p: Principal = require("connections:write")) -> Response:
    with platform.db.write() as session:
        svc.delete_connection(session, connection_id, p.actor)
    forget(connection_id)
    return Response(status_code=204)


@router.post("/{connection_id}/test", response_model=ConnectionTestRead, operation_id="connections-test")
async def test(connection_id: str, platform: PlatformDep,
               p: Principal = require("connections:write")) -> ConnectionTestRead:
    from datetime import UTC

    with platform.db.session() as session:
        conn = svc.resolve(session, _box(platform), connection_id)
    result = await test_connection(conn)
    result["at"] = datetime.now(UTC).isoformat()
    with platform.db.write() as session:
        svc.record_test(session, connection_id, result)
    return ConnectionTestRead(**result)
