"""NetSuite through the REST record API (``/services/rest/record/v1``) with token-based
authentication (TBA: OAuth 1.0a, HMAC-SHA256).

* Every request carries ``Authorization: OAuth realm="<ACCOUNT>", oauth_consumer_key=...,
  oauth_token=..., oauth_signature_method="HMAC-SHA256", oauth_timestamp, oauth_nonce,
  oauth_version="1.0", oauth_signature``. The signature is the HMAC-SHA256, keyed with
  ``<consumer secret>&<token secret>``, of the base string ``METHOD&<url>&<params>`` (RFC 5849
  §3.4: the URL without query, lower-case scheme and host; the query and oauth parameters
  percent-encoded, sorted and joined).
* Records are written with the external reference as NetSuite's **external id**:
  ``PUT /record/v1/<type>/eid:<ref>`` creates the record or updates the one holding that id
  (NetSuite's upsert), so sending a record twice never makes two. The answer is ``204`` with
  the record's URL (and internal id) in ``Location``.
* ``update`` PATCHes ``/record/v1/<type>/<internal id>`` (the first of ``key_fields``).
* Errors are ``{"title", "status", "o:errorDetails": [{"detail", "o:errorCode", "o:errorPath"}]}``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from datacollect.integrations.erp.base import (
    Connector,
    Problem,
    Record,
    Result,
    excerpt,
    failed,
    json_or_none,
)
from datacollect.integrations.netcheck import http_status_problem


def enc(value: Any) -> str:
    return quote(str(value), safe="~-._")


def base_string(method: str, url: str, oauth: dict[str, str]) -> str:
    parts = urlsplit(url)
    netloc = parts.hostname.lower() if parts.hostname else ""
    if parts.port and not ((parts.scheme == "https" and parts.port == 443) or (parts.scheme == "http" and parts.port == 80)):
        netloc += f":{parts.port}"
    base_url = f"{parts.scheme.lower()}://{netloc}{parts.path}"
    params = [(enc(k), enc(v)) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    params += [(enc(k), enc(v)) for k, v in oauth.items()]
    normalized = "&".join(f"{k}={v}" for k, v in sorted(params))
    return "&".join((method.upper(), enc(base_url), enc(normalized)))


def sign(method: str, url: str, oauth: dict[str, str], consumer_secret: str, token_secret: str) -> str:
    key = f"{enc(consumer_secret)}&{enc(token_secret)}".encode()
    digest = hmac.new(key, base_string(method, url, oauth).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def tba_header(method: str, url: str, *, account: str, consumer_key: str, consumer_secret: str, token_id: str,
               token_secret: str, nonce: str | None = None, timestamp: int | None = None) -> str:
    oauth = {"oauth_consumer_key": consumer_key, "oauth_token": token_id,
             "oauth_signature_method": "HMAC-SHA256", "oauth_timestamp": str(timestamp or int(time.time())),
             "oauth_nonce": nonce or secrets.token_hex(10), "oauth_version": "1.0"}
    oauth["oauth_signature"] = sign(method, url, oauth, consumer_secret, token_secret)
    realm = account.strip().upper().replace("-", "_")
    return f'OAuth realm="{realm}", ' + ", ".join(f'{k}="{enc(v)}"' for k, v in oauth.items())


def netsuite_error(content: bytes, status: int) -> dict[str, Any]:
    data = json_or_none(content)
    if isinstance(data, dict):
        details = [{k: v for k, v in {"message": d.get("detail"), "code": d.get("o:errorCode"),
                                      "field": d.get("o:errorPath")}.items() if v}
                   for d in data.get("o:errorDetails") or [] if isinstance(d, dict)]
        message = details[0]["message"] if details and details[0].get("message") else data.get("title")
        out: dict[str, Any] = {"message": str(message or f"NetSuite answered {status}"), "status": status}
        if details:
            out["details"] = details
            if details[0].get("code"):
                out["code"] = details[0]["code"]
        return out
    return {"message": f"NetSuite answered {status}" + (f": {excerpt(content)}" if content.strip() else ""),
            "status": status}


class NetSuiteConnector(Connector):
    system = "NetSuite"
    kind = "netsuite"

    @property
    def entity(self) -> str:
        e = self.options.entity or self.settings.record_type
        if not e:
            raise Problem("config", "No record type to export to: name it in the step ('entity') or in the NetSuite "
                                    "connection ('record_type').")
        return str(e)

    @property
    def root(self) -> str:
        return f"{self.settings.rest_url}/services/rest/record/v1"

    @property
    def where(self) -> str:
        return f"NetSuite ({self.settings.rest_url})"

    async def call(self, method: str, url: str, body: Any = None) -> Any:
        s = self.settings
        headers = {"Authorization": tba_header(method, url, account=s.account_id, consumer_key=s.consumer_key,
                                               consumer_secret=s.consumer_secret.get_secret_value(),
                                               token_id=s.token_id, token_secret=s.token_secret.get_secret_value()),
                   "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        return await self.request(method, url, headers=headers, json=body)

    def _fatal(self, r: Any) -> None:
        """401/403 say something about the connection, not the record: raised for all."""
        if r.status_code in (401, 403):
            problem = http_status_problem(r.status_code, self.where, netsuite_error(r.content, r.status_code)["message"])
            assert problem is not None
            raise problem

    async def check(self) -> None:
        url = f"{self.root}/{self.entity}?limit=1" if (self.options.entity or self.settings.record_type) \
            else f"{self.root}/metadata-catalog/"
        r = await self.call("GET", url)
        problem = http_status_problem(r.status_code, self.where, netsuite_error(r.content, r.status_code)["message"]
                                      if r.status_code >= 400 else "")
        if problem:
            raise problem
        if json_or_none(r.content) is None:
            raise Problem("protocol", f"{self.where} answered with something that is not JSON: {excerpt(r.content)}")

    async def _find_one(self, ref: str) -> Result | None:
        r = await self.call("GET", f"{self.root}/{self.entity}/eid:{ref}?fields=id")
        if r.status_code == 404:
            return None
        self._fatal(r)
        if r.status_code >= 400:
            raise Problem("server", f"{self.where} failed a lookup ({r.status_code}): "
                                    f"{netsuite_error(r.content, r.status_code)['message']}", transient=True)
        data = json_or_none(r.content) or {}
        key = str(data.get("id")) if isinstance(data, dict) and data.get("id") is not None else None
        return Result(ref, "exists", key=key, document={"key": key, "uri": f"{self.root}/{self.entity}/{key}"})

    async def find(self, refs: list[str]) -> dict[str, Result]:
        sem = asyncio.Semaphore(self.options.concurrency)

        async def one(ref: str) -> tuple[str, Result | None]:
            async with sem:
                return ref, await self._find_one(ref)

        return {ref: res for ref, res in await asyncio.gather(*(one(r) for r in refs)) if res is not None}

    async def send(self, records: list[Record]) -> list[Result]:
        upserts = [r.ref for r in records if r.operation == "upsert"]
        existing = await self.find(upserts) if upserts else {}
        sem = asyncio.Semaphore(self.options.concurrency)

        async def one(rec: Record) -> Result:
            async with sem:
                return await self._send_one(rec, rec.ref in existing)

        return list(await asyncio.gather(*(one(r) for r in records)))

    async def _send_one(self, rec: Record, exists: bool) -> Result:
        if rec.operation == "update":
            internal = next(iter(rec.key.values())) if isinstance(rec.key, dict) else rec.key
            url, method, status = f"{self.root}/{self.entity}/{internal}", "PATCH", "updated"
        else:
            url, method = f"{self.root}/{self.entity}/eid:{rec.ref}", "PUT"
            status = "updated" if exists else "created"
        try:
            r = await self.call(method, url, rec.data)
        except Problem as p:
            if p.stage in ("dns", "tls", "config"):
                raise
            # PUT by external id is idempotent: sending it again cannot make a second record
            return failed(rec.ref, p.message, transient=True, stage=p.stage)
        self._fatal(r)
        if r.status_code == 404 and method == "PUT":
            raise Problem("not_found", f"{self.where} has no record type '{self.entity}' (404): "
                                       f"{netsuite_error(r.content, 404)['message']}", status=404)
        if r.status_code >= 400:
            err = netsuite_error(r.content, r.status_code)
            return failed(rec.ref, f"NetSuite refused the record: {err['message']}",
                          transient=r.status_code == 429 or r.status_code >= 500,
                          **{k: v for k, v in err.items() if k != "message"})
        location = r.headers.get("location")
        key = location.rstrip("/").rsplit("/", 1)[-1] if location else (next(iter(rec.key.values()))
                                                                         if isinstance(rec.key, dict) else None)
        if key is None:
            return failed(rec.ref, f"NetSuite answered {r.status_code} without the record's Location; whether it "
                                   "was written is checked before it is sent again.", uncertain=True,
                          code="malformed_answer")
        return Result(rec.ref, status, key=key, document={"key": key, "uri": location or url})
