"""A fake NetSuite REST record service (``/services/rest/record/v1``) that checks token-based
authentication as NetSuite does: an OAuth 1.0a ``Authorization`` header signed with
HMAC-SHA256, the realm being the account id, a fresh nonce and a recent timestamp. A bad
signature answers 401 ``INVALID_LOGIN``. Its signature check is written here, apart from the
client's.

Records live per record type; ``PUT <type>/eid:<id>`` creates or updates the record holding
that external id (NetSuite's upsert) and answers 204 with ``Location``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

ACCOUNT = "1234567_SB1"
CONSUMER_KEY, CONSUMER_SECRET = "ck-2f6b", "cs-9a1e-secret"
TOKEN_ID, TOKEN_SECRET = "tk-77d0", "ts-c3b4-secret"
RECORD_TYPE = "customrecord_co2"
UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def pct(text: str) -> str:
    return "".join(chr(b) if b in UNRESERVED else f"%{b:02X}" for b in text.encode())


def _problem(status: int, title: str, detail: str, code: str, path: str | None = None) -> Response:
    d: dict[str, Any] = {"detail": detail, "o:errorCode": code}
    if path:
        d["o:errorPath"] = path
    body = {"type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15", "title": title, "status": status,
            "o:errorDetails": [d]}
    return Response(json.dumps(body), status, media_type="application/vnd.oracle.resource+json; type=error")


class FakeNetSuite:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        self.lock = threading.Lock()
        self.nonces: set[str] = set()
        self.next_id = 100
        self.calls: list[tuple[str, str]] = []
        self.fail_next = 0  # answer 500 to this many writes (without applying them)
        self.commit_then_fail = 0  # apply this many writes, then answer 500

    def by_external_id(self, ext: str) -> dict[str, Any] | None:
        return next((r for r in self.records.get(RECORD_TYPE, {}).values() if r.get("externalId") == ext), None)

    def _verify(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("OAuth "):
            return "no OAuth header"
        params = {k: unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', header)}
        if params.get("realm") != ACCOUNT:
            return "wrong realm"
        if params.get("oauth_consumer_key") != CONSUMER_KEY or params.get("oauth_token") != TOKEN_ID:
            return "unknown consumer or token"
        if params.get("oauth_signature_method") != "HMAC-SHA256" or params.get("oauth_version") != "1.0":
            return "unsupported signature method"
        if abs(time.time() - int(params.get("oauth_timestamp", "0"))) > 300:
            return "stale timestamp"
        nonce = params.get("oauth_nonce", "")
        if not nonce or nonce in self.nonces:
            return "nonce used before"
        given = params.pop("oauth_signature", "")
        params.pop("realm", None)
        pairs = [(pct(k), pct(v)) for k, v in request.query_params.multi_items()]
        pairs += [(pct(k), pct(v)) for k, v in params.items()]
        pairs.sort()
        url = f"{request.url.scheme}://{request.url.netloc.lower()}{request.url.path}"
        text = "&".join([request.method, pct(url), pct("&".join(f"{k}={v}" for k, v in pairs))])
        key = f"{pct(CONSUMER_SECRET)}&{pct(TOKEN_SECRET)}".encode()
        expected = base64.b64encode(hmac.new(key, text.encode(), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, given):
            return "signature mismatch"
        self.nonces.add(nonce)
        return None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        self.calls.append((request.method, path))
        if self._verify(request) is not None:
            return _problem(401, "Unauthorized", "Invalid login attempt. For more details, see the Login Audit Trail "
                                                 "in the NetSuite UI.", "INVALID_LOGIN")
        root = "/services/rest/record/v1/"
        if not path.startswith(root):
            return _problem(404, "Not Found", "The requested resource does not exist.", "NONEXISTENT_ID")
        parts = path[len(root):].strip("/").split("/")
        base = f"{request.url.scheme}://{request.url.netloc}{root}"
        if parts == ["metadata-catalog"]:
            return Response(json.dumps({"items": [{"name": RECORD_TYPE}]}), 200, media_type="application/json")
        rtype = parts[0]
        if rtype != RECORD_TYPE:
            return _problem(404, "Not Found", f"Record type '{rtype}' does not exist.", "INVALID_RCRD_TYPE")
        store = self.records.setdefault(rtype, {})
        if len(parts) == 1 and request.method == "GET":
            items = [{"id": i, "links": []} for i in list(store)[:1]]
            return Response(json.dumps({"links": [], "count": len(items), "hasMore": False, "items": items,
                                        "offset": 0, "totalResults": len(store)}), 200, media_type="application/json")
        if len(parts) != 2:
            return _problem(400, "Bad Request", "Invalid request.", "INVALID_REQUEST")
        ident = parts[1]
        rec = self.by_external_id(ident[4:]) if ident.startswith("eid:") else store.get(ident)
        if request.method == "GET":
            if rec is None:
                return _problem(404, "Not Found", "The record instance does not exist. Provide a valid record "
                                                  "instance ID.", "NONEXISTENT_ID")
            return Response(json.dumps({"id": rec["id"], "links": [{"rel": "self", "href": base + f"{rtype}/{rec['id']}"}]}),
                            200, media_type="application/json")
        if request.method in ("PUT", "PATCH"):
            if self.fail_next:
                self.fail_next -= 1
                return _problem(500, "Internal Server Error", "An unexpected error occurred.", "UNEXPECTED_ERROR")
            body = await request.json()
            if request.method == "PATCH" and rec is None:
                return _problem(404, "Not Found", "The record instance does not exist.", "NONEXISTENT_ID")
            if not (body.get("custrecord_supplier") or (rec or {}).get("custrecord_supplier")):
                return _problem(400, "Bad Request", "Please enter value(s) for: Supplier", "USER_ERROR",
                                "custrecord_supplier")
            with self.lock:
                if rec is None:
                    self.next_id += 1
                    rec = {"id": str(self.next_id), "externalId": ident[4:]}
                    store[rec["id"]] = rec
                rec.update(body)
            if self.commit_then_fail:
                self.commit_then_fail -= 1
                return _problem(500, "Internal Server Error", "An unexpected error occurred.", "UNEXPECTED_ERROR")
            return Response(b"", 204, headers={"Location": base + f"{rtype}/{rec['id']}"})
        return _problem(405, "Method Not Allowed", f"{request.method} is not allowed.", "INVALID_REQUEST")
