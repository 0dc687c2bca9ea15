"""The export ledger (``erp_exports``): each record's external reference and fate, in the
platform's database, so that a retried export never creates a second document.

Per batch of records, ``begin`` is one write transaction that says what to do with each:

* ``send``     not sent yet (or it failed for sure last time): claimed now, send it;
* ``lookup``   an earlier attempt sent this create and never learned the answer (the worker
               died, the answer was lost): ask the ERP for the reference before sending again
               (an update or upsert is simply sent again: it cannot make a second document);
* ``busy``     another attempt claimed it less than ``window`` seconds ago and may still be
               waiting for the ERP: try again later;
* ``done``     exported already (the same item, by an earlier attempt): nothing to send;
* ``duplicate`` another item exported a record under the same reference (a reference built
               from business fields) and this is a create: nothing to send.

``finish`` writes the outcome: ``done`` with the document key, ``failed`` (nothing was applied),
or ``uncertain`` (left ``sending``, unclaimed: the next attempt looks it up).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from datacollect.db.integrations_models import ErpExport


def _now() -> datetime:
    return datetime.now(UTC)


class SqlExportLedger:
    def __init__(self, db: Any) -> None:
        self.db = db

    def _rows(self, s: Any, target: dict[str, Any], refs: list[str]) -> list[ErpExport]:
        return list(s.scalars(select(ErpExport).where(
            ErpExport.connection_id == target["connection_id"], ErpExport.entity == target["entity"],
            ErpExport.external_ref.in_(refs))))

    def begin(self, target: dict[str, Any], entries: list[dict[str, Any]], window: float) -> dict[str, Any]:
        now = _now()
        stale = now - timedelta(seconds=window)
        out: dict[str, Any] = {}
        with self.db.write() as s:
            rows = self._rows(s, target, [e["ref"] for e in entries])
            for e in entries:
                ref, key = e["ref"], e["item_key"]
                own = next((r for r in rows if r.external_ref == ref and r.item_key == key), None)
                others = [r for r in rows if r.external_ref == ref and r.item_key != key]
                if own is not None and own.status == "done":
                    out[ref] = {"action": "done", "document_key": own.document_key, "response": own.response}
                    continue
                if own is not None and own.status == "sending" and own.claimed_at and own.claimed_at > stale:
                    out[ref] = {"action": "busy", "since": own.claimed_at.isoformat()}
                    continue
                done_other = next((r for r in others if r.status == "done"), None)
                if own is None and done_other is not None and e.get("operation") == "create":
                    out[ref] = {"action": "duplicate", "document_key": done_other.document_key,
                                "response": done_other.response, "by": done_other.item_key}
                    continue
                # a create whose fate is unknown is looked up; an update or upsert is sent again
                # (writing the same values twice changes nothing, and upsert finds its document)
                unknown = (own is not None and own.status == "sending") or any(r.status in ("sending", "done")
                                                                               for r in others)
                action = "lookup" if unknown and e.get("operation", "create") == "create" else "send"
                if own is None:
                    own = ErpExport(connection_id=target["connection_id"], system=target["system"],
                                    entity=target["entity"], external_ref=ref, item_key=key,
                                    operation=e.get("operation", "create"), attempts=0, created_at=now,
                                    run_id=e["run_id"], workflow_id=e["workflow_id"], node_id=e["node_id"],
                                    lane=e["lane"], item_index=e["index"], response_id=e.get("response_id"),
                                    origin=e.get("origin"))
                    s.add(own)
                    rows.append(own)
                own.status = "sending"
                own.claimed_at = now
                own.attempts = (own.attempts or 0) + 1
                own.payload = e.get("payload")
                own.error = None
                own.updated_at = now
                out[ref] = {"action": action}
        return out

    def finish(self, target: dict[str, Any], outcomes: list[dict[str, Any]]) -> None:
        if not outcomes:
            return
        now = _now()
        with self.db.write() as s:
            rows = {(r.external_ref, r.item_key): r for r in self._rows(s, target, [o["ref"] for o in outcomes])}
            for o in outcomes:
                r = rows.get((o["ref"], o["item_key"]))
                if r is None:
                    continue
                r.claimed_at = None
                r.updated_at = now
                if o["status"] == "done":
                    r.status, r.document_key, r.response, r.error = "done", o.get("document_key"), o.get("response"), None
                elif o["status"] == "failed":
                    r.status, r.error = "failed", o.get("error")
                else:  # uncertain: the next attempt looks it up
                    r.status, r.error = "sending", o.get("error")


__all__ = ["SqlExportLedger"]
