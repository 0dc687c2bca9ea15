"""Oracle Fusion Cloud through its REST API (``/fscmRestApi/resources/<version>/<resource>``).

* Basic authentication over TLS; ``REST-Framework-Version: 4`` so errors come as JSON
  (``{"title", "status", "o:errorDetails": [{"detail", "o:errorCode", "o:errorPath"}]}``; older
  framework versions answer text, which is kept as the message).
* ``create`` POSTs the record (with the reference in ``reference_field``) to the resource and
  reads the created item back from the 201 answer: ``key_fields`` of the item, or the last
  segment of its ``self`` link. ``update`` PATCHes ``<resource>/<key>``; ``upsert`` looks the
  reference up and updates what it finds.
* Lookup by reference: ``GET <resource>?q=<field>='<ref>' or ...&onlyData=true`` (items, count).
"""

from __future__ import annotations

import asyncio
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
from datacollect.integrations.http import basic_credentials
from datacollect.integrations.netcheck import classify, http_status_problem

FIND_CHUNK = 10


def oracle_error(content: bytes, status: int) -> dict[str, Any]:
    data = json_or_none(content)
    if isinstance(data, dict):
        details = [{k: v for k, v in {"message": d.get("detail"), "code": d.get("o:errorCode"),
                                      "field": d.get("o:errorPath")}.items() if v}
                   for d in data.get("o:errorDetails") or [] if isinstance(d, dict)]
        message = details[0].get("message") if details else None
        out: dict[str, Any] = {"message": str(message or data.get("detail") or data.get("title")
                                              or f"Oracle answered {status}"), "status": status}
        if details:
            out["details"] = details
            if details[0].get("code"):
                out["code"] = details[0]["code"]
        return out
    text = content.decode("utf-8", "replace").strip()
    return {"message": excerpt(text) if text else f"Oracle answered {status}", "status": status}


class OracleConnector(Connector):
    system = "Oracle"
    kind = "oracle"

    @property
    def entity(self) -> str:
        e = self.options.entity or self.settings.resource
        if not e:
            raise Problem("config", "No resource to export to: name it in the step ('entity') or in the Oracle "
                                    "connection ('resource'), e.g. suppliers.")
        return str(e).strip("/")

    @property
    def ref_field(self) -> str:
        f = self.options.ref_field or self.settings.external_ref_field
        if not f:
            raise Problem("config", "Oracle exports need the attribute that holds the reference (reference_field in "
                                    "the step, or external_ref_field in the connection); without it a retried export "
                                    "could not find its documents.")
        return str(f)

    @property
    def root(self) -> str:
        return f"{self.settings.base_url}/fscmRestApi/resources/{self.settings.api_version}"

    @property
    def where(self) -> str:
        return f"Oracle ({self.settings.base_url})"

    def _headers(self, body: bool = False) -> dict[str, str]:
        h = {"Authorization": basic_credentials(self.settings.username, self.settings.password.get_secret_value()),
             "REST-Framework-Version": "4", "Accept": "application/json"}
        if body:
            h["Content-Type"] = "application/vnd.oracle.adf.resourceitem+json"
        return h

    def _raise_for_connection(self, r: Any) -> None:
        if r.status_code in (401, 403):
            problem = http_status_problem(r.status_code, self.where, oracle_error(r.content, r.status_code)["message"])
            assert problem is not None
            raise problem
        if r.status_code == 404:
            raise Problem("not_found", f"{self.where} has no resource '{self.entity}' (404). Check the resource name "
                                       "and the API version.", status=404)

    async def check(self) -> None:
        url = f"{self.root}/{self.entity}" if (self.options.entity or self.settings.resource) else f"{self.root}/"
        r = await self.request("GET", url, headers=self._headers(), params={"limit": "1", "onlyData": "true"})
        problem = http_status_problem(r.status_code, self.where, oracle_error(r.content, r.status_code)["message"]
                                      if r.status_code >= 400 else "")
        if problem:
            raise problem
        if json_or_none(r.content) is None:
            raise Problem("protocol", f"{self.where} answered with something that is not JSON: {excerpt(r.content)}")

    def _key(self, item: dict[str, Any]) -> Any:
        if self.options.key_fields:
            return {k: item.get(k) for k in self.options.key_fields}
        for link in item.get("links") or []:
            if isinstance(link, dict) and link.get("rel") == "self" and link.get("href"):
                return str(link["href"]).rstrip("/").rsplit("/", 1)[-1]
        return None

    def _document(self, item: dict[str, Any]) -> dict[str, Any]:
        key = self._key(item)
        doc: dict[str, Any] = {"key": key}
        for link in item.get("links") or []:
            if isinstance(link, dict) and link.get("rel") == "self":
                doc["uri"] = link.get("href")
        return doc

    async def find(self, refs: list[str]) -> dict[str, Result]:
        found: dict[str, Result] = {}
        field = self.ref_field
        for i in range(0, len(refs), FIND_CHUNK):
            chunk = refs[i:i + FIND_CHUNK]
            q = " or ".join(f"{field}='{r}'" for r in chunk)
            r = await self.request("GET", f"{self.root}/{self.entity}", headers=self._headers(),
                                   params={"q": q, "onlyData": "false", "limit": str(len(chunk) * 2)})
            self._raise_for_connection(r)
            data = json_or_none(r.content)
            if r.status_code >= 400 or not isinstance(data, dict):
                raise Problem("server" if r.status_code >= 500 else "protocol",
                              f"{self.where} failed a lookup ({r.status_code}): "
                              f"{oracle_error(r.content, r.status_code)['message']}", transient=True)
            for item in data.get("items") or []:
                ref = item.get(field) if isinstance(item, dict) else None
                if isinstance(ref, str) and ref in chunk and ref not in found:
                    doc = self._document(item)
                    found[ref] = Result(ref, "exists", key=doc["key"], document=doc)
        return found

    async def send(self, records: list[Record]) -> list[Result]:
        upserts = [r for r in records if r.operation == "upsert"]
        if upserts:
            existing = await self.find([r.ref for r in upserts])
            for r in upserts:
                r.operation, r.key = ("update", existing[r.ref].key) if r.ref in existing else ("create", None)
        sem = asyncio.Semaphore(self.options.concurrency)

        async def one(rec: Record) -> Result:
            async with sem:
                return await self._send_one(rec)

        return list(await asyncio.gather(*(one(r) for r in records)))

    async def _send_one(self, rec: Record) -> Result:
        body = {**rec.data, self.ref_field: rec.ref}
        if rec.operation == "update":
            key = "/".join(str(v) for v in rec.key.values()) if isinstance(rec.key, dict) else str(rec.key)
            method, url = "PATCH", f"{self.root}/{self.entity}/{key}"
        else:
            method, url = "POST", f"{self.root}/{self.entity}"
        try:
            r = await self.client().request(method, url, headers=self._headers(True), json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout) as e:  # never sent
            problem = classify(e, self.where)
            if not problem.transient:
                raise problem from None
            return failed(rec.ref, problem.message, transient=True, stage=problem.stage)
        except httpx.HTTPError as e:  # sent, no answer: Oracle may have applied it
            problem = classify(e, self.where)
            return failed(rec.ref, f"{problem.message} Whether Oracle applied it is checked before it is sent again.",
                          uncertain=True)
        self._raise_for_connection(r)
        if r.status_code >= 500:
            err = oracle_error(r.content, r.status_code)
            return failed(rec.ref, f"Oracle answered {r.status_code}: {err['message']}", uncertain=True,
                          status=r.status_code)
        if r.status_code >= 400:
            err = oracle_error(r.content, r.status_code)
            return failed(rec.ref, f"Oracle refused the record: {err['message']}", transient=r.status_code == 429,
                          **{k: v for k, v in err.items() if k != "message"})
        item = json_or_none(r.content)
        if rec.operation == "update":
            return Result(rec.ref, "updated", key=rec.key, document={"key": rec.key})
        if not isinstance(item, dict):
            return failed(rec.ref, f"Oracle answered {r.status_code} without the created item; whether it exists is "
                                   "checked before it is sent again.", uncertain=True, code="malformed_answer")
        doc = self._document(item)
        return Result(rec.ref, "created", key=doc["key"], document=doc)
