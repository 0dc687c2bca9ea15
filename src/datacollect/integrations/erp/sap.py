"""SAP S/4HANA and Gateway through OData v2 or v4, as S/4HANA exposes them.

* **CSRF**: a modifying request needs a token. It is fetched with
  ``GET <service>/`` and the header ``X-CSRF-Token: Fetch``; the answer's ``X-CSRF-Token``
  header holds it, bound to the session cookies (kept by the client). A ``403`` whose
  ``X-CSRF-Token`` header says ``Required`` means the token expired: fetch again, once.
* **Writes** go in one ``POST <service>/$batch`` per ``batch_size`` records, one change set per
  record, so one refused record does not roll back the others. ``create`` posts to the
  entity set, ``update`` MERGEs (v2) or PATCHes (v4) ``EntitySet(<key>)``; ``upsert`` looks the
  reference up first and updates what it finds.
* **Created keys** are read back from the answer: ``key_fields`` of the entity when they are
  configured, else the key predicate of ``__metadata.uri`` (v2), ``@odata.id`` or the
  ``Location`` header.
* **Errors** come in SAP's format, ``{"error": {"code", "message": {"lang", "value"},
  "innererror": {"errordetails": [{"code", "message", "propertyref", "severity"}]}}}`` (v4:
  ``message`` is text and the details are in ``details``); they become item errors with the
  message, the code and each detail's field.
* **Lookup** by external reference: ``GET <EntitySet>?$filter=<ref field> eq '<ref>' or ...``.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from datacollect.integrations.erp.base import (
    Connector,
    Problem,
    Record,
    Result,
    excerpt,
    failed,
    json_or_none,
)
from datacollect.integrations.erp.multipart import MalformedBatch, Request, build_batch, parse_batch
from datacollect.integrations.http import basic_credentials
from datacollect.integrations.netcheck import classify, http_status_problem

FILTER_CHUNK = 20
_PREDICATE = re.compile(r"\(([^()]*)\)\s*$")


def odata_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def key_predicate(key: Any) -> str:
    if isinstance(key, dict):
        if len(key) == 1:
            return f"({odata_literal(next(iter(key.values())))})"
        return "(" + ",".join(f"{k}={odata_literal(v)}" for k, v in key.items()) + ")"
    return f"({odata_literal(key)})"


def parse_predicate(uri: str) -> Any:
    """``Records('0001')`` -> ``"0001"``; ``Records(A='x',B=2)`` -> ``{"A": "x", "B": 2}``."""
    m = _PREDICATE.search(uri)
    if not m:
        return None
    inner = m.group(1)
    parts = re.findall(r"(?:(\w+)=)?('(?:[^']|'')*'|[^,]+)", inner)

    def value(text: str) -> Any:
        text = text.strip()
        if text.startswith("'") and text.endswith("'"):
            return text[1:-1].replace("''", "'")
        try:
            return int(text)
        except ValueError:
            return text

    if len(parts) == 1 and not parts[0][0]:
        return value(parts[0][1])
    return {k: value(v) for k, v in parts if k}


def sap_error(content: bytes, status: int) -> dict[str, Any]:
    """SAP's error answer (v2 or v4, JSON or XML) as ``{"message", "code", "details"}``."""
    data = json_or_none(content)
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        err = data["error"]
        msg = err.get("message")
        text = msg.get("value") if isinstance(msg, dict) else msg
        details: list[dict[str, Any]] = []
        raw = ((err.get("innererror") or {}).get("errordetails") or err.get("details") or [])
        for d in raw if isinstance(raw, list) else []:
            if not isinstance(d, dict):
                continue
            dm = d.get("message")
            details.append({k: v for k, v in {
                "code": d.get("code"), "message": dm.get("value") if isinstance(dm, dict) else dm,
                "field": d.get("propertyref") or d.get("target") or None,
                "severity": d.get("severity")}.items() if v})
        out: dict[str, Any] = {"message": str(text or f"SAP answered {status}"), "status": status}
        if err.get("code"):
            out["code"] = err["code"]
        if details:
            out["details"] = details
        return out
    text = content.decode("utf-8", "replace")
    m = re.search(r"<message[^>]*>(.*?)</message>", text, re.S)
    code = re.search(r"<code>(.*?)</code>", text, re.S)
    if m:
        return {"message": m.group(1).strip(), "status": status, **({"code": code.group(1).strip()} if code else {})}
    return {"message": f"SAP answered {status}" + (f": {excerpt(text)}" if text.strip() else ""), "status": status}


class SapConnector(Connector):
    system = "SAP"
    kind = "sap"

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        s = self.settings
        self.v4 = s.odata_version == "4"
        self.service = f"{s.base_url}{s.service_path}"
        self._csrf: str | None = None

    @property
    def entity(self) -> str:
        e = self.options.entity or self.settings.entity_set
        if not e:
            raise Problem("config", "No entity set to export to: name it in the step ('entity') or in the SAP "
                                    "connection ('entity_set').")
        return str(e)

    @property
    def ref_field(self) -> str:
        return self.options.ref_field or self.settings.external_ref_field

    @property
    def where(self) -> str:
        return f"SAP ({self.settings.base_url}{self.settings.service_path})"

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        h = {"Authorization": basic_credentials(self.settings.username, self.settings.password.get_secret_value()),
             "Accept": "application/json"}
        if self.v4:
            h["OData-Version"] = "4.0"
        if extra:
            h.update(extra)
        return h

    def _params(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        p: dict[str, str] = {}
        if self.settings.sap_client:
            p["sap-client"] = self.settings.sap_client
        if extra:
            p.update(extra)
        return p

    def _status(self, r: httpx.Response, what: str) -> None:
        problem = http_status_problem(r.status_code, self.where, self.hide(sap_error(r.content, r.status_code)["message"])
                                      if r.status_code >= 400 else "")
        if problem is not None:
            if problem.stage == "not_found":
                problem.message = f"{self.where} has no {what} (404). Check the service path and the entity set."
            raise problem

    # -- CSRF ---------------------------------------------------------------------------
    async def token(self, fresh: bool = False) -> str:
        if self._csrf and not fresh:
            return self._csrf
        r = await self.request("GET", self.service + "/", headers=self._headers({"X-CSRF-Token": "Fetch"}),
                               params=self._params())
        self._status(r, "service at this path")
        token = r.headers.get("x-csrf-token")
        if not token or token.lower() == "required":
            raise Problem("protocol", f"{self.where} answered without an X-CSRF-Token when asked for one; it "
                                      "may not be an SAP OData service.")
        self._csrf = token
        return token

    async def check(self) -> None:
        await self.token()
        if self.options.entity or self.settings.entity_set:
            r = await self.request("GET", f"{self.service}/{self.entity}", headers=self._headers(),
                                   params=self._params({"$top": "1", **({} if self.v4 else {"$format": "json"})}))
            self._status(r, f"entity set {self.entity}")
            if json_or_none(r.content) is None:
                raise Problem("protocol", f"{self.where} answered {self.entity} with something that is not "
                                          f"OData JSON: {excerpt(r.content)}")

    # -- lookup -------------------------------------------------------------------------
    def _entities(self, data: Any) -> list[dict[str, Any]]:
        if not isinstance(data, dict):
            return []
        if self.v4:
            rows = data.get("value")
        else:
            d = data.get("d")
            rows = d.get("results") if isinstance(d, dict) else d
        return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []

    def _key(self, entity: dict[str, Any] | None, location: str | None = None) -> Any:
        if self.options.key_fields and entity:
            return {k: entity.get(k) for k in self.options.key_fields}
        uri = None
        if entity:
            meta = entity.get("__metadata")
            uri = meta.get("uri") if isinstance(meta, dict) else None
            uri = uri or entity.get("@odata.id")
        uri = uri or location
        return parse_predicate(uri) if uri else None

    def _document(self, entity: dict[str, Any] | None, location: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {"key": self._key(entity, location)}
        if entity:
            meta = entity.get("__metadata")
            uri = (meta.get("uri") if isinstance(meta, dict) else None) or entity.get("@odata.id") or location
            if uri:
                doc["uri"] = uri
        elif location:
            doc["uri"] = location
        return doc

    async def find(self, refs: list[str]) -> dict[str, Result]:
        found: dict[str, Result] = {}
        field = self.ref_field
        for i in range(0, len(refs), FILTER_CHUNK):
            chunk = refs[i:i + FILTER_CHUNK]
            flt = " or ".join(f"{field} eq {odata_literal(r)}" for r in chunk)
            params = {"$filter": flt, "$top": str(len(chunk) * 2)}
            if not self.v4:
                params["$format"] = "json"
            r = await self.request("GET", f"{self.service}/{self.entity}", headers=self._headers(),
                                   params=self._params(params))
            if r.status_code >= 500:
                raise Problem("server", f"{self.where} failed to answer a lookup ({r.status_code}): "
                                        f"{sap_error(r.content, r.status_code)['message']}", transient=True)
            self._status(r, f"entity set {self.entity}")
            data = json_or_none(r.content)
            if not isinstance(data, dict):
                raise Problem("protocol", f"{self.where} answered a lookup with something that is not OData "
                                          f"JSON: {excerpt(r.content)}", transient=True)
            for e in self._entities(data):
                ref = e.get(field)
                if isinstance(ref, str) and ref in chunk and ref not in found:
                    doc = self._document(e)
                    found[ref] = Result(ref, "exists", key=doc["key"], document=doc)
        return found

    # -- writes -------------------------------------------------------------------------
    def _request(self, rec: Record, n: int) -> Request:
        body = {**rec.data, self.ref_field: rec.ref}
        if rec.operation == "update":
            method = "PATCH" if self.v4 else "MERGE"
            return Request(method, f"{self.entity}{key_predicate(rec.key)}", body, content_id=str(n))
        return Request("POST", self.entity, body, content_id=str(n))

    async def send(self, records: list[Record]) -> list[Result]:
        results: dict[str, Result] = {}
        upserts = [r for r in records if r.operation == "upsert"]
        if upserts:
            existing = await self.find([r.ref for r in upserts])
            for r in upserts:
                if r.ref in existing:
                    r.operation, r.key = "update", existing[r.ref].key
                else:
                    r.operation = "create"
        size = max(1, self.options.batch_size)
        for i in range(0, len(records), size):
            for res in await self._batch(records[i:i + size]):
                results[res.ref] = res
        return [results[r.ref] for r in records]

    async def _batch(self, records: list[Record]) -> list[Result]:
        body, ctype = build_batch([[self._request(rec, n + 1)] for n, rec in enumerate(records)])
        url = f"{self.service}/$batch"
        for attempt in (1, 2):
            token = await self.token(fresh=attempt == 2)
            try:
                r = await self.client().post(url, content=body, params=self._params(), headers=self._headers(
                    {"X-CSRF-Token": token, "Content-Type": ctype, "Accept": "multipart/mixed"}))
            except (httpx.ConnectError, httpx.ConnectTimeout) as e:  # the batch never left
                problem = classify(e, self.where)
                if not problem.transient:
                    raise problem from None
                return [failed(rec.ref, problem.message, transient=True, stage=problem.stage) for rec in records]
            except httpx.HTTPError as e:  # sent, but no answer: SAP may have applied it
                problem = classify(e, self.where)
                return [failed(rec.ref, f"{problem.message} The $batch was sent; whether SAP applied it is "
                                        "checked before it is sent again.", uncertain=True) for rec in records]
            if r.status_code == 403 and r.headers.get("x-csrf-token", "").lower() == "required" and attempt == 1:
                continue
            break
        if r.status_code >= 500:
            err = sap_error(r.content, r.status_code)
            return [failed(rec.ref, f"SAP answered {r.status_code} to the $batch: {err['message']}", uncertain=True,
                           code=err.get("code"), status=r.status_code) for rec in records]
        if r.status_code in (401, 403, 404):
            self._status(r, "$batch endpoint")
        if r.status_code >= 400:
            err = sap_error(r.content, r.status_code)
            return [failed(rec.ref, f"SAP refused the $batch: {err['message']}", **{k: v for k, v in err.items()
                                                                                   if k != "message"})
                    for rec in records]
        try:
            parts = parse_batch(r.content, r.headers.get("content-type", ""))
        except MalformedBatch as e:
            msg = (f"SAP's answer to the $batch cannot be read ({e}); whether the records were applied is "
                   f"checked before they are sent again. The answer began: {excerpt(r.content)[:200]}")
            return [failed(rec.ref, msg, uncertain=True, code="malformed_answer") for rec in records]
        out: list[Result] = []
        for n, rec in enumerate(records):
            if n >= len(parts):
                out.append(failed(rec.ref, "SAP's $batch answer has no part for this record; whether it was "
                                           "applied is checked before it is sent again.", uncertain=True,
                                  code="malformed_answer"))
                continue
            out.append(self._outcome(rec, parts[n]))
        return out

    def _outcome(self, rec: Record, responses: list[Any]) -> Result:
        resp = responses[-1]
        if resp.status >= 400:
            err = sap_error(resp.body, resp.status)
            msg = f"SAP refused the record: {err['message']}"
            # a failed change set is rolled back: sending it again is safe
            return failed(rec.ref, msg, transient=resp.status >= 500 or resp.status == 429,
                          **{k: v for k, v in err.items() if k != "message"})
        data = json_or_none(resp.body)
        entity = None
        if isinstance(data, dict):
            entity = data.get("d") if not self.v4 else data
            if isinstance(entity, dict) and "results" in entity and not self.v4:
                entity = None
        location = resp.headers.get("location")
        if rec.operation == "update":
            doc = {"key": rec.key}
            return Result(rec.ref, "updated", key=rec.key, document=doc)
        if entity is None and location is None:
            return failed(rec.ref, f"SAP answered {resp.status} for the record but did not say which document it "
                                   "created; whether it exists is checked before it is sent again.",
                          uncertain=True, code="malformed_answer")
        doc = self._document(entity if isinstance(entity, dict) else None, location)
        return Result(rec.ref, "created", key=doc["key"], document=doc)

