"""Workflows: CRUD, versions, activation, validation, export, and starting runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Response, status

from datacollect.api.deps import PlatformDep, Principal, SessionDep, require
from datacollect.api.routers.runs import run_answer
from datacollect.api.schemas import (
    LastRun,
    Page,
    ProblemsRead,
    RunCreate,
    RunRead,
    VersionDetail,
    VersionRead,
    WorkflowRead,
    WorkflowSummary,
)
from datacollect.db import workflows as svc
from datacollect.db.models import Run, Workflow
from datacollect.engine.secrets import mask_definition
from datacollect.errors import InvalidInput

router = APIRouter(prefix="/api/workflows", tags=["workflows"])

DefinitionBody = Body(description="A workflow definition (DESIGN §3): id, name, nodes, edges.",
                      openapi_examples={"minimal": {"value": {
                          "id": "hello", "name": "Hello", "nodes": [{"id": "start", "type": "ManualTrigger"}],
                          "edges": []}}})


def _summary(wf: Workflow, last: Run | None = None) -> dict[str, Any]:
    return {"id": wf.id, "name": wf.name, "description": wf.description, "active": wf.active,
            "version": wf.current_version, "created_at": wf.created_at, "updated_at": wf.updated_at,
            "last_run": LastRun(id=last.id, status=last.status, started_at=last.started_at) if last else None}


def _read(session: Any, wf: Workflow, platform: Any) -> WorkflowRead:
    return WorkflowRead(**_summary(wf), definition=mask_definition(svc.current_definition(session, wf),
                                                                   platform.registry))


@router.get("", response_model=Page[WorkflowSummary], operation_id="workflows-list",
            dependencies=[require("workflows:read")])
def list_workflows(session: SessionDep, search: str | None = None, active: bool | None = None,
                   page: int = Query(1, ge=1), page_size: int = Query(50, ge=1, le=500)) -> Page[WorkflowSummary]:
    rows, total = svc.list_workflows(session, search, active, page, page_size)
    return Page(data=[WorkflowSummary(**_summary(w, r)) for w, r in rows], count=total)


@router.post("", response_model=WorkflowRead, status_code=status.HTTP_201_CREATED, operation_id="workflows-create")
def create_workflow(platform: PlatformDep, definition: Any = DefinitionBody,
                    p: Principal = require("workflows:write")) -> WorkflowRead:
    with platform.db.write() as session:
        wf = svc.create_workflow(session, definition, platform.registry, p.actor)
        answer = _read(session, wf, platform)
    platform.invalidate_routes()
    return answer


@router.post("/validate", response_model=ProblemsRead, operation_id="workflows-validate",
             dependencies=[require("workflows:read")])
def validate_workflow(platform: PlatformDep, session: SessionDep, definition: Any = DefinitionBody) -> ProblemsRead:
    wid = definition.get("id") if isinstance(definition, dict) else None
    return ProblemsRead(problems=svc.check(session, definition, platform.registry, wid))


@router.get("/{workflow_id}", response_model=WorkflowRead, operation_id="workflows-read",
            dependencies=[require("workflows:read")])
def read_workflow(workflow_id: str, session: SessionDep, platform: PlatformDep) -> WorkflowRead:
    return _read(session, svc.get_workflow(session, workflow_id), platform)


@router.put("/{workflow_id}", response_model=WorkflowRead, operation_id="workflows-update")
def update_workflow(workflow_id: str, platform: PlatformDep,
                    definition: Any = DefinitionBody, message: str | None = None,
                    p: Principal = require("workflows:write")) -> WorkflowRead:
    with platform.db.write() as session:
        wf = svc.update_workflow(session, workflow_id, definition, platform.registry, p.actor, message)
        answer = _read(session, wf, platform)
    platform.invalidate_routes()  # after the commit, so no one caches the old routes
    return answer


@router.delete("/{workflow_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="workflows-delete")
def delete_workflow(workflow_id: str, platform: PlatformDep,
                    p: Principal = require("workflows:write")) -> Response:
    with platform.db.write() as session:
        svc.delete_workflow(session, workflow_id, p.actor)
    platform.invalidate_routes()
    return Response(status_code=204)


@router.post("/{workflow_id}/activate", response_model=WorkflowRead, operation_id="workflows-activate")
def activate(workflow_id: str, platform: PlatformDep,
             p: Principal = require("workflows:write")) -> WorkflowRead:
    with platform.db.write() as session:
        wf = svc.set_active(session, workflow_id, True, platform.registry, p.actor)
        answer = _read(session, wf, platform)
    platform.invalidate_routes()  # after the commit, so no one caches the old routes
    return answer


@router.post("/{workflow_id}/deactivate", response_model=WorkflowRead, operation_id="workflows-deactivate")
def deactivate(workflow_id: str, platform: PlatformDep,
               p: Principal = require("workflows:write")) -> WorkflowRead:
    with platform.db.write() as session:
        wf = svc.set_active(session, workflow_id, False, platform.registry, p.actor)
        answer = _read(session, wf, platform)
    platform.invalidate_routes()  # after the commit, so no one caches the old routes
    return answer


@router.get("/{workflow_id}/export", operation_id="workflows-export", dependencies=[require("workflows:read")])
def export_workflow(workflow_id: str, session: SessionDep, platform: PlatformDep) -> Response:
    import orjson

    wf = svc.get_workflow(session, workflow_id)
    body = orjson.dumps(mask_definition(svc.current_definition(session, wf), platform.registry),
                        option=orjson.OPT_INDENT_2)
    return Response(body, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{wf.id}.json"'})


@router.get("/{workflow_id}/versions", response_model=Page[VersionRead], operation_id="workflows-versions",
            dependencies=[require("workflows:read")])
def list_versions(workflow_id: str, session: SessionDep) -> Page[VersionRead]:
    vs = svc.list_versions(session, workflow_id)
    return Page(data=[VersionRead(version=v.version, created_at=v.created_at, created_by=v.created_by,
                                  message=v.message) for v in vs], count=len(vs))


@router.get("/{workflow_id}/versions/{version}", response_model=VersionDetail, operation_id="workflows-version",
            dependencies=[require("workflows:read")])
def read_version(workflow_id: str, version: int, session: SessionDep, platform: PlatformDep) -> VersionDetail:
    v = svc.read_version(session, workflow_id, version)
    return VersionDetail(version=v.version, created_at=v.created_at, created_by=v.created_by, message=v.message,
                         definition=mask_definition(v.definition, platform.registry))


@router.get("/{workflow_id}/diff", operation_id="workflows-diff", dependencies=[require("workflows:read")])
def diff(workflow_id: str, session: SessionDep, platform: PlatformDep, from_: int = Query(alias="from"),
         to: int = Query()) -> dict[str, Any]:
    return svc.diff_versions(session, workflow_id, from_, to,
                             mask=lambda d: mask_definition(d, platform.registry))


@router.post("/{workflow_id}/versions/{version}/restore", response_model=WorkflowRead,
             operation_id="workflows-restore")
def restore(workflow_id: str, version: int, platform: PlatformDep,
            p: Principal = require("workflows:write")) -> WorkflowRead:
    with platform.db.write() as session:
        wf = svc.restore_version(session, workflow_id, version, platform.registry, p.actor)
        answer = _read(session, wf, platform)
    platform.invalidate_routes()  # after the commit, so no one caches the old routes
    return answer


@router.post("/{workflow_id}/run", response_model=RunRead, operation_id="workflows-run")
async def run_workflow(workflow_id: str, body: RunCreate, platform: PlatformDep, response: Response,
                       p: Principal = require("runs:write")) -> RunRead:
    data = body.data
    if isinstance(data, list):
        if not all(isinstance(i, dict) for i in data):
            raise InvalidInput("'data' must be an object or a list of objects")
        items = data or [{}]
    elif isinstance(data, dict):
        items = [data]
    else:
        raise InvalidInput("'data' must be an object or a list of objects")
    run_id = await platform.runner.start_run(
        workflow_id, items, trigger_node=body.trigger_node, mode="test" if body.test else "manual",
        version=body.version, pinned=body.pinned, only_node=body.only_node, drive=body.wait)
    if body.wait:
        await platform.runner.wait_settled(run_id, platform.settings.webhook_wait_timeout)
    answer = run_answer(platform, run_id)
    response.status_code = 200 if answer.status in ("completed", "failed", "waiting", "cancelled") else 202
    return answer
