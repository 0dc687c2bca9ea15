"""Lineage, like NiFi's provenance: for a record exported to an ERP, where it came from and
what happened to it on the way (DESIGN §13). "Why is this value in SAP?"

    lineage(session, store, registry, external_ref="DC-9F2C...")   # or response_id=..., run_id=...

answers, per export found::

    {"export":   {system, connection_id, entity, external_ref, item_key, operation, status,
                  document_key, attempts, payload (what was sent), created_at, updated_at},
     "source":   {run_id, workflow_id, version_id, node_id, lane, item_index},
     "response": {id, form_key, form_name, form_version, revision, status, recipient_email,
                  campaign_id, submitted_at, changes: [{at, actor, action, reason}]} | None,
     "review":   what the item carried of its review decision | None,
     "events":   [{step, node_id, node_type, status, at, data}, ...]}

``events`` is the chain of the run's steps that led to the export, oldest first, each with the
item as it left that step (``received``, ``validated``, ``reviewed``, ``mapped``, ``routed``,
``sent``). It is read from the run's activations, so it is there as long as the run's data is
kept; the export row keeps the record as sent and its origin for good.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from datacollect.db.integrations_models import ErpExport

STEPS = {"trigger": "received", "collection": "received", "validate": "validated", "transform": "mapped",
         "logic": "routed", "output": "sent"}
MAX_ITEMS = 20


def _iso(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


def _export_view(e: ErpExport) -> dict[str, Any]:
    return {"system": e.system, "connection_id": e.connection_id, "entity": e.entity, "external_ref": e.external_ref,
            "item_key": e.item_key, "operation": e.operation, "status": e.status, "document_key": e.document_key,
            "attempts": e.attempts, "payload": e.payload, "error": e.error, "created_at": _iso(e.created_at),
            "updated_at": _iso(e.updated_at)}


def _response(session: Session, response_id: str | None) -> dict[str, Any] | None:
    if not response_id:
        return None
    from datacollect.db.forms_models import FormResponse, ResponseChange

    r = session.get(FormResponse, response_id)
    if r is None:
        return {"id": response_id, "missing": True}
    changes = session.scalars(select(ResponseChange).where(ResponseChange.response_id == response_id)
                              .order_by(ResponseChange.id))
    return {"id": r.id, "form_key": r.form_key, "form_name": r.form_name, "form_version": r.form_version,
            "revision": r.revision, "status": r.status, "recipient_email": r.recipient_email,
            "campaign_id": r.campaign_id, "run_id": r.run_id, "submitted_at": _iso(r.submitted_at),
            "changes": [{"at": _iso(c.at), "actor": c.actor, "action": c.action, "reason": c.reason}
                        for c in changes]}


def _pick(items: list[Any], index: int, expected: int) -> Any:
    """The item of a step's output that became the exported one (by position when the counts
    match), else what the step put out."""
    if len(items) == 1:
        return items[0]
    if len(items) == expected and 0 <= index < len(items):
        return items[index]
    return items[:MAX_ITEMS]


def _events(store: Any, registry: Any, e: ErpExport) -> list[dict[str, Any]]:
    from datacollect.engine.definition import WorkflowDef
    from datacollect.engine.runner import lane_prefixes

    with store.transaction() as tx:
        run = tx.get_run(e.run_id)
        if run is None:
            return []
        version = tx.version_by_id(run["version_id"])
        acts = tx.find_activations(e.run_id)
    if version is None:
        return []
    defn = WorkflowDef.model_validate(version["definition"])
    types = {n.id: n.type for n in defn.nodes}
    parents: dict[str, set[str]] = {}
    for edge in defn.edges:
        parents.setdefault(edge.target, set()).add(edge.source)
    ancestors: set[str] = set()
    todo = [e.node_id]
    while todo:
        for p in parents.get(todo.pop(), ()):
            if p not in ancestors:
                ancestors.add(p)
                todo.append(p)
    lanes = set(lane_prefixes(e.lane))
    export_act = next((a for a in acts if a["node_id"] == e.node_id and a["lane"] == e.lane), None)
    expected = len(export_act["input"] or []) if export_act and isinstance(export_act.get("input"), list) else 0
    chain = [a for a in acts if (a["node_id"] in ancestors and a["lane"] in lanes and a["status"] == "completed")]
    chain.sort(key=lambda a: (a.get("finished_at") or a.get("started_at") or run["created_at"], len(a["lane"])))
    out: list[dict[str, Any]] = []
    for a in chain:
        ntype = types.get(a["node_id"], "")
        cls = registry.get(ntype) if registry is not None else None
        step = "reviewed" if ntype == "Review" else STEPS.get(getattr(cls, "category", ""), "processed")
        items = (a.get("output") or {}).get("main") or []
        out.append({"step": step, "node_id": a["node_id"], "node_type": ntype, "status": a["status"],
                    "lane": a["lane"], "at": _iso(a.get("finished_at")), "data": _pick(items, e.item_index, expected)})
    out.append({"step": "sent", "node_id": e.node_id, "node_type": types.get(e.node_id, "ERPExport"),
                "status": e.status, "lane": e.lane, "at": _iso(e.updated_at),
                "data": e.payload, "document_key": e.document_key})
    return out


def lineage(session: Session, store: Any, registry: Any, *, external_ref: str | None = None,
            response_id: str | None = None, run_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    q = select(ErpExport)
    if external_ref:
        q = q.where(or_(ErpExport.external_ref == external_ref, ErpExport.item_key == external_ref))
    if response_id:
        q = q.where(ErpExport.response_id == response_id)
    if run_id:
        q = q.where(ErpExport.run_id == run_id)
    rows = list(session.scalars(q.order_by(ErpExport.created_at, ErpExport.id).limit(limit)))
    out = []
    for e in rows:
        origin = e.origin or {}
        out.append({
            "export": _export_view(e),
            "source": {"run_id": e.run_id, "workflow_id": e.workflow_id, "version_id": origin.get("version_id"),
                       "node_id": e.node_id, "lane": e.lane, "item_index": e.item_index},
            "response": _response(session, e.response_id),
            "review": origin.get("review"),
            "events": _events(store, registry, e),
        })
    return out


__all__ = ["lineage"]
