"""ERPExport: send items to an ERP (SAP, NetSuite, Oracle) as documents, exactly once.

Each item is mapped to a record (a named DataMapper mapping such as ``carbon_to_sap_v2``,
inline ``mapping_rules``, or the item's own fields), given an **external reference**, and
sent through the system's connector (:mod:`datacollect.integrations.erp`): SAP in OData
``$batch`` change sets, NetSuite and Oracle through their REST APIs.

Exactly once
    The reference is derived from the item's idempotency key ``run_id/node_id/lane/index``
    (``DC-`` + 24 hex digits; or built from the item with ``reference``, a business key) and
    written into the document (SAP/Oracle: ``reference_field``; NetSuite: the external id). The
    export ledger (``erp_exports``) records each reference before it is sent and the document
    key after. A retried step never sends a record the ledger marks done, and a record whose
    answer was lost (worker killed, timeout after the ERP took it) is looked up in the ERP by its
    reference before it is sent again: one document, whatever fails when.

Ports
    ``main``  the exported items, each with ``_export: {system, connection, entity, reference,
              status, key, document}``; status is ``created``, ``updated`` or
              ``already_exported`` (the ERP had it already: found by its reference).
    ``error`` the items the ERP refused (or that could not be mapped), each with
              ``error: {message, code, status, details, reference, system}`` - SAP's error code
              and message, and the field of each detail.

    The step fails (retryable) when the ERP cannot be reached, answers 5xx or times out after
    the node's own retries; what was exported before stays exported, and the retried step sends
    only the rest. A wrong password (401), a missing authorisation (403) or a wrong service path
    (404) fails the step with the stage that failed.
"""

from __future__ import annotations

import asyncio
import copy
import random
from functools import partial
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from datacollect.engine.expressions import check_template, compile_template, is_template
from datacollect.errors import ExpressionError, NodeError, RetryableNodeError
from datacollect.nodes.base import Item, Items, Node, NodeConfig, NodeContext, Output, Template
from datacollect.nodes.data_mapper import CompiledMapping, MappingRule, StoredMapping

SYSTEMS = {"sap": "SAP", "netsuite": "NetSuite", "oracle": "Oracle"}


def _erp() -> Any:
    from datacollect.integrations import erp

    return erp


class ERPExport(Node):
    type = "ERPExport"
    category = "output"
    description = ("Send items to SAP (OData), NetSuite or Oracle Fusion as documents, exactly once: a retried "
                   "step never creates a second document.")
    icon = "factory"
    ports = ("main", "error")
    side_effects = True

    class Config(NodeConfig):
        system: str = Field(
            description="The ERP: SAP, NetSuite or Oracle.",
            json_schema_extra={"enum": ["SAP", "NetSuite", "Oracle"]})
        connection: str | None = Field(
            None, description="The stored connection to use. Empty: the one connection of this system's kind.",
            json_schema_extra={"format": "connection"})
        entity: str | None = Field(
            None, description="The SAP entity set, NetSuite record type or Oracle resource (e.g. EmissionRecords). "
                              "Empty: the connection's default.")
        operation: str = Field(
            "create", description="create: a new document per item; update: change the document named by "
                                  "key_fields; upsert: update the document holding the item's reference, or create it.",
            json_schema_extra={"enum": ["create", "update", "upsert"]})
        mapping: str | None = Field(
            None, min_length=1, description="A stored DataMapper mapping that turns an item into the ERP record "
                                            "(its rules run first).",
            json_schema_extra={"x-widget": "mapping-select", "examples": ["carbon_to_sap_v2"]})
        mapping_rules: list[MappingRule] | None = Field(
            None, description="Mapping rules of this step (after the stored mapping's). With neither, the item's "
                              "fields are sent as they are (fields starting with _ left out).",
            json_schema_extra={"x-widget": "mapping-rules"})
        reference: Template | None = Field(
            None, description="The document's external reference, built from the item (a business key such as "
                              "{{ item.supplier_id }}-{{ trigger.quarter }}). Empty: derived from the item's "
                              "idempotency key, so a retried step finds its own documents.")
        reference_field: str | None = Field(
            None, description="The ERP field holding the reference (SAP, Oracle). Empty: the connection's.")
        key_fields: list[str] = Field(
            default_factory=list,
            description="Fields of the record that form the document key: needed by update, and used to read the "
                        "created key back.")
        batch_size: int = Field(50, ge=1, le=1000, description="Records per SAP $batch (per round for the others).")
        max_retries: int = Field(3, ge=0, le=10, description="Retries within the step after 5xx, 429 or a lost answer.")
        retry_backoff: float = Field(1.0, ge=0, le=300, description="Seconds before the first retry, doubled each time.")
        timeout: float = Field(60, gt=0, le=600, description="Seconds to wait for each answer of the ERP.")

        @field_validator("system")
        @classmethod
        def _system(cls, v: str) -> str:
            name = SYSTEMS.get(v.strip().lower())
            if name:
                return name
            if v in _erp().connectors():
                return v
            raise ValueError(f"'{v}' is not an ERP this platform can export to (SAP, NetSuite, Oracle)")

        @field_validator("operation")
        @classmethod
        def _operation(cls, v: str) -> str:
            if v not in ("create", "update", "upsert"):
                raise ValueError("operation is create, update or upsert")
            return v

        @model_validator(mode="after")
        def _check(self) -> ERPExport.Config:
            if self.operation == "update" and not self.key_fields:
                raise ValueError("update needs key_fields: the record fields that name the document to change")
            return self

    config: Config

    def __init__(self, config: NodeConfig, node_id: str = "") -> None:
        super().__init__(config, node_id)
        c = self.config
        self._own = CompiledMapping(c.mapping_rules or []) if c.mapping_rules else None
        self._stored: tuple[dict[str, Any], CompiledMapping] | None = None
        self._reference = compile_template(c.reference) if c.reference else None

    def check(self) -> list[str]:
        c = self.config
        problems = [f"reference: {r}" for _, r in check_template(c.reference)] if c.reference else []
        if c.reference and not is_template(c.reference):
            problems.append("reference: a fixed reference would give every item the same document; build it from "
                            "the item, e.g. {{ item.supplier_id }}-{{ trigger.quarter }}")
        return problems

    # -- mapping ------------------------------------------------------------------------
    def _mapping(self, ctx: NodeContext) -> CompiledMapping | None:
        name = self.config.mapping
        if not name:
            return self._own
        store = ctx.services.mappings
        if store is None:
            raise NodeError(f"ERPExport needs the mappings service to read the stored mapping '{name}'")
        raw = store.get_mapping(name)
        if raw is None:
            raise NodeError(f"There is no stored mapping named '{name}'. Create it under Mappings, or correct the name.")
        cached = self._stored
        if cached is not None and cached[0] == raw:
            return cached[1]
        try:
            stored = StoredMapping.model_validate(raw)
        except ValidationError as exc:
            reasons = "; ".join(e["msg"] for e in exc.errors(include_url=False))
            raise NodeError(f"The stored mapping '{name}' is not valid: {reasons}") from None
        compiled = CompiledMapping(stored.mapping_rules + (self.config.mapping_rules or []), stored.input_schema,
                                   stored.output_schema, stored.keep_unmapped)
        self._stored = (copy.deepcopy(raw), compiled)
        return compiled

    # -- run ----------------------------------------------------------------------------
    async def run(self, ctx: NodeContext, items: Items) -> Output:
        if not items:
            return {"main": []}
        c = self.config
        erp = _erp()
        conns, ledger = ctx.services.connections, ctx.services.exports
        if conns is None or ledger is None:
            raise NodeError("ERPExport needs the connections and export ledger services, and none are configured")
        cls = erp.connectors().get(c.system)
        if cls is None:
            raise NodeError(f"No connector for {c.system} is installed")
        conn = conns.get(c.connection, cls.kind) if c.connection else conns.only(cls.kind)
        options = erp.Options(entity=c.entity, ref_field=c.reference_field, key_fields=list(c.key_fields),
                              timeout=c.timeout, batch_size=c.batch_size)
        connector = cls(conn, options)
        try:
            entity = connector.entity
        except erp.base.Problem as p:
            raise NodeError(p.message) from None
        target = {"connection_id": conn.id, "system": cls.system, "entity": entity}
        export_info = {"system": cls.system, "connection": conn.id, "entity": entity}

        errors: dict[int, dict[str, Any]] = {}
        records: list[Any] = []
        entries: dict[str, dict[str, Any]] = {}
        mapping = self._mapping(ctx)
        refs: dict[str, int] = {}
        for i, item in enumerate(items):
            record = self._record(ctx, mapping, i, item, refs, errors)
            if record is None:
                continue
            records.append(record)
            entries[record.ref] = self._entry(ctx, i, item, record)
        done: dict[int, dict[str, Any]] = {}
        pending: list[tuple[Any, dict[str, Any]]] = []  # records left undecided, and why
        try:
            async with connector:
                for start in range(0, len(records), c.batch_size):
                    chunk = records[start:start + c.batch_size]
                    await self._chunk(ctx, connector, ledger, target, chunk, entries, done, errors, pending)
        except erp.base.Problem as p:
            cls_ = RetryableNodeError if p.transient else NodeError
            raise cls_(p.message, details={"stage": p.stage, **({"status": p.status} if p.status else {}),
                                           "exported": len(done)}) from None
        ctx.log(f"{cls.system} {entity}: {len(done)} exported, {len(errors)} refused, {len(pending)} undecided")
        if pending:
            first = pending[0][1]
            malformed = all(e.get("code") == "malformed_answer" for _, e in pending)
            cls_ = NodeError if malformed else RetryableNodeError
            raise cls_(f"{len(pending)} of {len(items)} records could not be exported yet: {first.get('message')} "
                       f"({len(done)} exported; a retry sends only the others, never twice)",
                       details={"exported": len(done), "undecided": [r.ref for r, _ in pending][:50],
                                "error": first})
        main: list[Item] = []
        error: list[Item] = []
        for i, item in enumerate(items):
            if i in done:
                main.append({**item, "_export": {**export_info, **done[i]}})
            else:
                error.append({**item, "error": {**errors[i], "system": cls.system}})
        out: Output = {"main": main}
        if error:
            out["error"] = error
        return out

    def _record(self, ctx: NodeContext, mapping: CompiledMapping | None, i: int, item: Item,
                refs: dict[str, int], errors: dict[int, dict[str, Any]]) -> Any:
        erp = _erp()
        c = self.config
        key = ctx.item_key(i)
        if self._reference is not None:
            try:
                ref = str(self._reference(ctx.with_item(item))).strip()
            except ExpressionError as e:
                errors[i] = {"message": f"Cannot build the reference: {e.message}", "code": "reference"}
                return None
            if not ref:
                errors[i] = {"message": "The reference is empty for this item", "code": "reference"}
                return None
        else:
            ref = erp.reference_for(key)
        if ref in refs:
            errors[i] = {"message": f"Item {refs[ref]} has the same reference {ref!r}; one document cannot hold "
                                    "both", "code": "reference", "reference": ref}
            return None
        refs[ref] = i
        if mapping is not None:
            data, problems = mapping.apply(item, partial(ctx.with_item, item))
            if problems:
                field, value, message = problems[0]
                errors[i] = {"message": f"Field '{field}': {message}", "code": "mapping", "reference": ref,
                             "details": [{"field": f, "value": v, "message": m} for f, v, m in problems]}
                return None
        else:
            data = {k: v for k, v in item.items() if not k.startswith("_")}
        doc_key = None
        if c.operation == "update":
            missing = [k for k in c.key_fields if data.get(k) in (None, "")]
            if missing:
                errors[i] = {"message": f"The record has no value for the key field {', '.join(missing)}",
                             "code": "key", "reference": ref}
                return None
            doc_key = {k: data[k] for k in c.key_fields}
        return erp.Record(index=i, ref=ref, data=data, operation=c.operation, key=doc_key)

    @staticmethod
    def _entry(ctx: NodeContext, i: int, item: Item, record: Any) -> dict[str, Any]:
        origin: dict[str, Any] = {"run_id": ctx.run_id, "workflow_id": ctx.workflow_id, "version_id": ctx.version_id,
                                  "node_id": ctx.node_id, "lane": ctx.lane, "index": i, "item_key": ctx.item_key(i),
                                  "attempt": ctx.attempt, "input": item}
        if item.get("response_id"):
            origin["response"] = {"id": item.get("response_id"), "form": item.get("_form"),
                                  "submitted_at": item.get("submitted_at")}
        review = item.get("_review") or item.get("review")  # what the Review node put on the item
        if isinstance(review, dict) and review.get("decision"):
            origin["review"] = review
        return {"ref": record.ref, "item_key": ctx.item_key(i), "index": i, "operation": record.operation,
                "payload": record.data, "run_id": ctx.run_id, "workflow_id": ctx.workflow_id,
                "node_id": ctx.node_id, "lane": ctx.lane, "response_id": item.get("response_id"), "origin": origin}

    async def _chunk(self, ctx: NodeContext, connector: Any, ledger: Any, target: dict[str, Any], chunk: list[Any],
                     entries: dict[str, dict[str, Any]], done: dict[int, dict[str, Any]],
                     errors: dict[int, dict[str, Any]], pending: list[tuple[Any, dict[str, Any]]]) -> None:
        erp = _erp()
        c = self.config
        plan = ledger.begin(target, [entries[r.ref] for r in chunk], c.timeout * 2)
        todo: list[Any] = []
        lookup: list[Any] = []
        for rec in chunk:
            step = plan[rec.ref]
            action = step["action"]
            if action in ("done", "duplicate"):
                resp = step.get("response") or {}
                status = resp.get("status", "already_exported") if action == "done" else "already_exported"
                done[rec.index] = {"reference": rec.ref, "status": status, "key": step.get("document_key"),
                                   "document": resp.get("document")}
                if action == "duplicate":
                    done[rec.index]["exported_by"] = step.get("by")
            elif action == "busy":
                pending.append((rec, {"message": f"another attempt has been sending this record since {step['since']}",
                                      "code": "busy"}))
            elif action == "lookup":
                lookup.append(rec)
            else:
                todo.append(rec)
        outcomes: list[dict[str, Any]] = []
        last: dict[str, dict[str, Any]] = {}

        def settle(rec: Any, res: Any, status: str) -> None:
            info = {"reference": rec.ref, "status": status, "key": res.key, "document": res.document}
            done[rec.index] = info
            outcomes.append({"ref": rec.ref, "item_key": entries[rec.ref]["item_key"], "status": "done",
                             "document_key": res.key, "response": {"status": status, "document": res.document}})

        attempt = 0
        sent: list[Any] = []
        try:
            while True:
                if lookup:
                    found = await connector.find([r.ref for r in lookup])
                    for rec in lookup:
                        if rec.ref in found:
                            settle(rec, found[rec.ref], "already_exported")
                        else:
                            todo.append(rec)
                    lookup = []
                retry: list[Any] = []
                if todo:
                    sent, todo = todo, []
                    try:
                        results = await connector.send(sent)
                    except erp.base.Problem:
                        # refused before anything was applied (auth, permission, path): nothing to look up
                        outcomes.extend({"ref": r.ref, "item_key": entries[r.ref]["item_key"], "status": "failed",
                                         "error": {"message": "not sent"}} for r in sent)
                        sent = []
                        raise
                    for rec, res in zip(sent, results, strict=True):
                        if res.ok:
                            settle(rec, res, res.status)
                        elif res.uncertain:
                            lookup.append(rec)
                            last[rec.ref] = res.error or {}
                        elif res.transient:
                            retry.append(rec)
                            last[rec.ref] = res.error or {}
                        else:
                            errors[rec.index] = {**(res.error or {}), "reference": rec.ref}
                            outcomes.append({"ref": rec.ref, "item_key": entries[rec.ref]["item_key"],
                                             "status": "failed", "error": res.error})
                    sent = []
                todo = retry
                if not todo and not lookup:
                    break
                if attempt >= c.max_retries:
                    for rec in lookup:
                        pending.append((rec, last.get(rec.ref, {})))
                        outcomes.append({"ref": rec.ref, "item_key": entries[rec.ref]["item_key"],
                                         "status": "uncertain", "error": last.get(rec.ref)})
                    for rec in todo:
                        pending.append((rec, last.get(rec.ref, {})))
                        outcomes.append({"ref": rec.ref, "item_key": entries[rec.ref]["item_key"],
                                         "status": "failed", "error": last.get(rec.ref)})
                    break
                delay = c.retry_backoff * (2 ** attempt)
                attempt += 1
                ctx.log(f"{len(todo) + len(lookup)} records again in {delay:.1f} s: "
                        f"{next(iter(last.values()), {}).get('message')}")
                await asyncio.sleep(delay / 2 + random.uniform(0, delay / 2))
        except BaseException:
            # what is still open stays claimable: unknown ones are looked up by the next attempt
            decided = {o["ref"] for o in outcomes}
            outcomes.extend({"ref": r.ref, "item_key": entries[r.ref]["item_key"], "status": "uncertain"}
                            for r in [*lookup, *todo, *sent] if r.ref not in decided)
            ledger.finish(target, outcomes)
            raise
        ledger.finish(target, outcomes)
