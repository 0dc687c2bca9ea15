"""A fake Oracle Fusion REST resource (``/fscmRestApi/resources/11.13.18.05/<resource>``):
basic authentication, ``POST`` creates an item and answers 201 with it (and its ``self``
link), ``GET ?q=Field='v' or ...`` finds items, errors as ``o:errorDetails`` JSON when the
client asks for ``REST-Framework-Version`` 4 and as text otherwise."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

USER, PASSWORD = "integration.user", "Oracle-pass-1"
VERSION = "11.13.18.05"
RESOURCE = "supplierEmissions"
ROOT = f"/fscmRestApi/resources/{VERSION}/"


class FakeOracle:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.next_id = 300000000000001
        self.answer_delay = 0.0
        self.posts = 0

    def _error(self, request: Request, status: int, detail: str, code: str, path: str | None = None) -> Response:
        if request.headers.get("rest-framework-version", "1") >= "4":
            d: dict[str, Any] = {"detail": detail, "o:errorCode": code}
            if path:
                d["o:errorPath"] = path
            body = {"title": "Bad Request" if status == 400 else "Error", "status": str(status),
                    "o:errorDetails": [d]}
            return Response(json.dumps(body), status, media_type="application/vnd.oracle.adf.error+json")
        return Response(detail, status, media_type="text/plain")

    def _item(self, request: Request, item: dict[str, Any]) -> dict[str, Any]:
        href = f"{request.url.scheme}://{request.url.netloc}{ROOT}{RESOURCE}/{item['EmissionId']}"
        return {**item, "links": [{"rel": "self", "href": href, "name": RESOURCE, "kind": "item"}]}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Basic ") or base64.b64decode(auth[6:]).decode() != f"{USER}:{PASSWORD}":
            return Response("", 401, headers={"WWW-Authenticate": 'Basic realm="Oracle"'})
        path = request.url.path
        if not path.startswith(ROOT):
            return Response("Not Found", 404, media_type="text/plain")
        parts = path[len(ROOT):].strip("/").split("/")
        if parts[0] == "":
            return Response(json.dumps({"items": [{"name": RESOURCE}]}), 200, media_type="application/json")
        if parts[0] != RESOURCE:
            return self._error(request, 404, f"The resource {parts[0]} is not found.", "NOT_FOUND")
        if request.method == "GET" and len(parts) == 1:
            rows = list(self.items.values())
            q = request.query_params.get("q")
            if q:
                wanted = set(re.findall(r"ExternalReference='([^']*)'", q))
                rows = [r for r in rows if r.get("ExternalReference") in wanted]
            rows = [self._item(request, r) for r in rows]
            return Response(json.dumps({"items": rows, "count": len(rows), "hasMore": False, "limit": 25,
                                        "offset": 0, "links": []}), 200, media_type="application/json")
        if request.method == "POST" and len(parts) == 1:
            self.posts += 1
            body = await request.json()
            if not body.get("SupplierNumber"):
                return self._error(request, 400, "The attribute SupplierNumber is required.", "ORA-REQUIRED",
                                   "SupplierNumber")
            with self.lock:
                item = {"EmissionId": self.next_id, **body}
                self.items[str(self.next_id)] = item
                self.next_id += 1
            if self.answer_delay:
                await asyncio.sleep(self.answer_delay)
            return Response(json.dumps(self._item(request, item)), 201, media_type="application/json")
        if request.method == "PATCH" and len(parts) == 2:
            item = self.items.get(parts[1])
            if item is None:
                return self._error(request, 404, "The item is not found.", "NOT_FOUND")
            item.update(await request.json())
            return Response(json.dumps(self._item(request, item)), 200, media_type="application/json")
        return self._error(request, 405, "Method not allowed", "METHOD")
