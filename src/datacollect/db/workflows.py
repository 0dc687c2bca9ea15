"""Workflow definitions in the database: create, read, list, update (a new immutable
version each time), delete, versions (list, read, diff, restore), activation, and keeping
webhook routes and schedules in step with the active version."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from datacollect.db.models import Run, Schedule, WebhookRoute, Workflow, WorkflowVersion
from datacollect.engine.definition import WorkflowDef, check_definition, parse_definition
from datacollect.engine.scheduler import next_fire
from datacollect.engine.secrets import keep_secrets, masked_paths
from datacollect.errors import Conflict, DefinitionError, InvalidInput, NotFound
from datacollect.nodes.registry import NodeRegistry
from datacollect.security import audit


def now() -> datetime:
    return datetime.now(UTC)


def check(session: Session, data: Any, registry: NodeRegistry, workflow_id: str | None = None) -> list[dict[str, Any]]:
    """Every problem of a definition, including webhook paths another workflow uses."""
    try:
        defn = parse_definition(data)
    except DefinitionError as exc:
        return exc.problems
    problems = check_definition(defn, registry)
    problems += _route_conflicts(session, defn, workflow_id or defn.id)
    return problems


def _validated(session: Session, data: Any, registry: NodeRegistry, workflow_id: str | None = None) -> WorkflowDef:
    defn = parse_definition(data)
    problems = check_definition(defn, registry) + _route_conflicts(session, defn, workflow_id or defn.id)
    problems += [{"node_id": nid, "field": f"config.{path}",
                  "message": "This secret was hidden when the workflow was read; type it again"}
                 for nid, path in masked_paths(defn.dump(), registry)]
    if problems:
        raise DefinitionError(problems)
    return defn


def _webhook_paths(defn: WorkflowDef) -> dict[str, tuple[str, str]]:
    out = {}
    for n in defn.nodes:
        if n.type == "WebhookTrigger" and isinstance(n.config.get("endpoint_path"), str):
            out[n.config["endpoint_path"].strip().strip("/")] = (n.id, n.config.get("method", "POST"))
    return out


def _route_conflicts(session: Session, defn: WorkflowDef, workflow_id: str) -> list[dict[str, Any]]:
    problems = []
    paths = _webhook_paths(defn)
    if paths:
        for r in session.scalars(select(WebhookRoute).where(WebhookRoute.path.in_(list(paths)))):
            if r.workflow_id != workflow_id:
                problems.append({"node_id": paths[r.path][0], "field": "config.endpoint_path",
                                 "message": f"The webhook path '{r.path}' is already used by workflow "
                                            f"'{r.workflow_id}'; choose another path"})
    return problems


def create_workflow(session: Session, data: Any, registry: NodeRegistry, actor: str) -> Workflow:
    defn = _validated(session, data, registry)
    if session.get(Workflow, defn.id) is not None:
        raise Conflict(f"A workflow with the id '{defn.id}' exists already; change the id or update that one")
    t = now()
    wf = Workflow(id=defn.id, name=defn.name or defn.id, description=defn.description, active=defn.active,
                  current_version=1, created_at=t, updated_at=t, created_by=actor)
    session.add(wf)
    session.add(WorkflowVersion(workflow_id=wf.id, version=1, definition=defn.dump(), created_at=t,
                                created_by=actor, message="created"))
    session.flush()
    sync_triggers(session, wf, defn)
    audit.record(session, actor, "workflow.create", "workflow", wf.id, after={"version": 1, "name": wf.name})
    return wf


def get_workflow(session: Session, workflow_id: str) -> Workflow:
    wf = session.get(Workflow, workflow_id)
    if wf is None:
        raise NotFound(f"Workflow '{workflow_id}' does not exist")
    return wf


def current_definition(session: Session, wf: Workflow) -> dict[str, Any]:
    return read_version(session, wf.id, wf.current_version).definition


def update_workflow(session: Session, workflow_id: str, data: Any, registry: NodeRegistry, actor: str,
                    message: str | None = None) -> Workflow:
    wf = get_workflow(session, workflow_id)
    if isinstance(data, dict):
        if data.get("id") not in (None, workflow_id):
            raise InvalidInput(f"The definition's id '{data.get('id')}' is not this workflow's id '{workflow_id}'; "
                               "a workflow's id cannot change (duplicate it instead)")
        data = keep_secrets({**data, "id": workflow_id}, current_definition(session, wf), registry)
    defn = _validated(session, data, registry, workflow_id)
    before = {"version": wf.current_version, "active": wf.active, "name": wf.name}
    wf.current_version += 1
    wf.name = defn.name or wf.id
    wf.description = defn.description
    wf.active = defn.active
    wf.updated_at = now()
    session.add(WorkflowVersion(workflow_id=wf.id, version=wf.current_version, definition=defn.dump(),
                                created_at=wf.updated_at, created_by=actor, message=message))
    session.flush()
    sync_triggers(session, wf, defn)
    audit.record(session, actor, "workflow.update", "workflow", wf.id, before=before,
                 after={"version": wf.current_version, "active": wf.active, "name": wf.name}, reason=message)
    return wf


def delete_workflow(session: Session, workflow_id: str, actor: str) -> None:
    wf = get_workflow(session, workflow_id)
    active_runs = session.scalar(select(func.count()).select_from(Run).where(
        Run.workflow_id == workflow_id, Run.status.in_(("pending", "running", "waiting"))))
    if active_runs:
        raise Conflict(f"Workflow '{workflow_id}' has {active_runs} unfinished runs; cancel them first")
    session.execute(delete(WebhookRoute).where(WebhookRoute.workflow_id == workflow_id))
    session.execute(delete(Schedule).where(Schedule.workflow_id == workflow_id))
    session.execute(delete(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow_id))
    audit.record(session, actor, "workflow.delete", "workflow", workflow_id,
                 before={"version": wf.current_version, "name": wf.name})
    session.delete(wf)


def list_workflows(session: Session, search: str | None = None, active: bool | None = None,
                   page: int = 1, page_size: int = 50) -> tuple[list[tuple[Workflow, Run | None]], int]:
    q = select(Workflow)
    if search:
        like = f"%{search.lower()}%"
        q = q.where(or_(func.lower(Workflow.name).like(like), func.lower(Workflow.id).like(like),
                        func.lower(Workflow.description).like(like)))
    if active is not None:
        q = q.where(Workflow.active.is_(active))
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = list(session.scalars(q.order_by(Workflow.updated_at.desc()).limit(page_size).offset((page - 1) * page_size)))
    last: dict[str, Run] = {}
    if rows:
        ids = [w.id for w in rows]
        latest = (select(Run.workflow_id, func.max(Run.created_at).label("m"))
                  .where(Run.workflow_id.in_(ids), Run.mode != "child").group_by(Run.workflow_id).subquery())
        for r in session.scalars(select(Run).join(latest, (Run.workflow_id == latest.c.workflow_id)
                                                  & (Run.created_at == latest.c.m))):
            last[r.workflow_id] = r
    return [(w, last.get(w.id)) for w in rows], total


def list_versions(session: Session, workflow_id: str) -> list[WorkflowVersion]:
    get_workflow(session, workflow_id)
    return list(session.scalars(select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow_id)
                                .order_by(WorkflowVersion.version.desc())))


def read_version(session: Session, workflow_id: str, version: int) -> WorkflowVersion:
    v = session.scalar(select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow_id,
                                                     WorkflowVersion.version == version))
    if v is None:
        raise NotFound(f"Workflow '{workflow_id}' has no version {version}")
    return v


def diff_versions(session: Session, workflow_id: str, a: int, b: int,
                  mask: Any = None) -> dict[str, Any]:
    """What changed from version ``a`` to ``b``: nodes added, removed and changed (with the
    settings that differ), edges added and removed, and top-level fields."""
    da, db_ = read_version(session, workflow_id, a).definition, read_version(session, workflow_id, b).definition
    if mask is not None:
        da, db_ = mask(da), mask(db_)
    na = {n["id"]: n for n in da.get("nodes", [])}
    nb = {n["id"]: n for n in db_.get("nodes", [])}
    changed = []
    for nid in sorted(set(na) & set(nb)):
        fields = sorted(k for k in set(na[nid]) | set(nb[nid]) if na[nid].get(k) != nb[nid].get(k))
        if fields:
            changed.append({"id": nid, "fields": fields,
                            "before": {k: na[nid].get(k) for k in fields}, "after": {k: nb[nid].get(k) for k in fields}})

    def ekey(e: dict[str, Any]) -> tuple[str, str, str]:
        return (e.get("from", ""), e.get("to", ""), e.get("condition") or "main")

    ea = {ekey(e) for e in da.get("edges", [])}
    eb = {ekey(e) for e in db_.get("edges", [])}
    top = sorted(k for k in set(da) | set(db_) if k not in ("nodes", "edges") and da.get(k) != db_.get(k))
    return {"from": a, "to": b,
            "nodes": {"added": sorted(set(nb) - set(na)), "removed": sorted(set(na) - set(nb)), "changed": changed},
            "edges": {"added": [dict(zip(("from", "to", "condition"), e, strict=True)) for e in sorted(eb - ea)],
                      "removed": [dict(zip(("from", "to", "condition"), e, strict=True)) for e in sorted(ea - eb)]},
            "settings": {k: {"before": da.get(k), "after": db_.get(k)} for k in top}}


def restore_version(session: Session, workflow_id: str, version: int, registry: NodeRegistry, actor: str) -> Workflow:
    old = read_version(session, workflow_id, version)
    return update_workflow(session, workflow_id, old.definition, registry, actor, message=f"restored version {version}")


def set_active(session: Session, workflow_id: str, active: bool, registry: NodeRegistry, actor: str) -> Workflow:
    wf = get_workflow(session, workflow_id)
    if wf.active == active:
        return wf
    wf.active = active
    wf.updated_at = now()
    defn = WorkflowDef.model_validate(current_definition(session, wf))
    if active:
        conflicts = _route_conflicts(session, defn, wf.id)
        if conflicts:
            raise DefinitionError(conflicts)
    sync_triggers(session, wf, defn)
    audit.record(session, actor, "workflow.activate" if active else "workflow.deactivate", "workflow", wf.id,
                 before={"active": not active}, after={"active": active})
    return wf


def sync_triggers(session: Session, wf: Workflow, defn: WorkflowDef) -> None:
    """Webhook routes and schedules follow the current version while the workflow is active."""
    session.execute(delete(WebhookRoute).where(WebhookRoute.workflow_id == wf.id))
    existing = {s.id: s for s in session.scalars(select(Schedule).where(Schedule.workflow_id == wf.id))}
    keep: set[str] = set()
    if wf.active:
        for path, (node_id, method) in _webhook_paths(defn).items():
            session.add(WebhookRoute(path=path, method=method, workflow_id=wf.id, node_id=node_id))
        for n in defn.nodes:
            if n.type != "ScheduleTrigger" or n.disabled:
                continue
            sid = f"{wf.id}/{n.id}"
            keep.add(sid)
            cron = n.config.get("cron") or n.config.get("cron_expression")
            tz = n.config.get("timezone") or "UTC"
            policy = n.config.get("misfire_policy") or "run_once"
            s = existing.get(sid)
            if s is None:
                session.add(Schedule(id=sid, workflow_id=wf.id, node_id=n.id, cron=cron, timezone=tz,
                                     misfire_policy=policy, enabled=True, next_fire_at=next_fire(cron, tz, now())))
            else:
                if (s.cron, s.timezone) != (cron, tz) or not s.enabled:
                    s.next_fire_at = next_fire(cron, tz, now())
                s.cron, s.timezone, s.misfire_policy, s.enabled = cron, tz, policy, True
    for sid, s in existing.items():
        if sid not in keep:
            session.delete(s)
    session.flush()
