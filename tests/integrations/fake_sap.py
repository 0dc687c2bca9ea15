"""A fake SAP Gateway that speaks OData v2 (or v4) the way S/4HANA does, for one entity set.

* Basic authentication; a wrong password gets 401, a user without the role 403.
* ``GET <service>/`` with ``X-CSRF-Token: Fetch`` answers a token bound to a session cookie;
  a modifying request without the right token gets ``403`` and ``X-CSRF-Token: Required``.
* ``POST <service>/$batch`` (multipart/mixed, change sets of POST / MERGE / PATCH) answers 202
  with one part per change set; a refused change set answers its error in SAP's format
  (``{"error": {"code", "message": {"lang", "value"}, "innererror": {"errordetails": [...]}}}``).
* ``GET <service>/<set>?$filter=<field> eq '<v>' or ...`` finds records.

Its request parser is its own (not the client's), so the two check each other. Faults are
switched on by attributes: ``fail_batch_after`` (commit n change sets, then answer 500),
``answer_delay`` (commit, then answer late: the caller times out), ``malformed`` (a 202 that
is not multipart), ``on_commit`` (called after a batch is committed, before the answer), and
records with ``SupplierId == "BOOM"`` fail their change set with a 500.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

USER, PASSWORD = "COLLECTOR", "Sap-pass-123"
SERVICE = "/sap/opu/odata/sap/ZCARBON_SRV"
SERVICE_V4 = "/sap/opu/odata4/sap/zcarbon/srvd_a2x/sap/zcarbon/0001"
ENTITY = "EmissionRecords"


class FakeSap:
    def __init__(self, version: int = 2) -> None:
        self.version = version
        self.service = SERVICE if version == 2 else SERVICE_V4
        self.records: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.sessions: dict[str, str] = {}  # session id -> csrf token
        self.batches = 0
        self.requests: list[tuple[str, str]] = []
        self.fail_batch_after: int | None = None
        self.answer_delay = 0.0
        self.malformed: bytes | None = None
        self.on_commit: Callable[[], None] | None = None
        self.forbidden_users: set[str] = set()
        self.base = ""

    # -- helpers ------------------------------------------------------------------------
    def docs(self, ref: str) -> list[dict[str, Any]]:
        return [r for r in self.records.values() if r.get("ExternalReference") == ref]

    def _error(self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None,
               headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps(self._error_body(code, message, details)), status,
                        headers=headers, media_type="application/json")

    def _error_body(self, code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        if self.version == 4:
            return {"error": {"code": code, "message": message,
                              "details": [{"code": d["code"], "message": d["message"], "target": d.get("propertyref")}
                                          for d in details or []]}}
        return {"error": {"code": code, "message": {"lang": "en", "value": message},
                          "innererror": {"transactionid": uuid.uuid4().hex.upper(),
                                         "errordetails": details or []}}}

    def _uri(self, key: str) -> str:
        return f"{self.base}{self.service}/{ENTITY}('{key}')"

    def _entity(self, rec: dict[str, Any]) -> dict[str, Any]:
        if self.version == 4:
            return {"@odata.id": f"{ENTITY}('{rec['RecordId']}')", **rec}
        return {"__metadata": {"id": self._uri(rec["RecordId"]), "uri": self._uri(rec["RecordId"]),
                               "type": "ZCARBON_SRV.EmissionRecord"}, **rec}

    def _auth(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
        return user if (user, pw) == (USER, PASSWORD) or (user in self.forbidden_users and pw == PASSWORD) else None

    # -- ASGI ---------------------------------------------------------------------------
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        self.base = f"{request.url.scheme}://{request.url.netloc}"
        path = request.url.path
        self.requests.append((request.method, path))
        if not path.startswith(self.service):
            return Response("<html>Not found</html>", 404, media_type="text/html")
        user = self._auth(request)
        if user is None:
            return Response("<html><body>Logon failed</body></html>", 401, media_type="text/html",
                            headers={"WWW-Authenticate": 'Basic realm="SAP NetWeaver Application Server"'})
        if user in self.forbidden_users:
            return self._error(403, "/IWFND/MED/170", f"No service found for namespace, name, version; user {user} "
                                                      "has no authorisation")
        rest = path[len(self.service):].strip("/")
        sid = request.cookies.get("SAP_SESSIONID_S4H_100")
        if request.method == "GET":
            return self._get(request, rest, sid)
        if request.method == "POST" and rest == "$batch":
            token = request.headers.get("x-csrf-token")
            if not sid or self.sessions.get(sid) != token:
                return Response("CSRF token validation failed", 403, headers={"x-csrf-token": "Required"},
                                media_type="text/plain")
            return await self._batch(request)
        return self._error(405, "/IWBEP/CM_MGW_RT/020", f"Method {request.method} not allowed on {rest}")

    def _get(self, request: Request, rest: str, sid: str | None) -> Response:
        headers: dict[str, str] = {}
        cookie = None
        if request.headers.get("x-csrf-token", "").lower() == "fetch":
            if not sid or sid not in self.sessions:
                sid = uuid.uuid4().hex
                cookie = sid
            token = base64.b64encode(uuid.uuid4().bytes).decode()
            self.sessions[sid] = token
            headers["x-csrf-token"] = token
        if rest == "":
            body: Any = ({"@odata.context": "$metadata", "value": [{"name": ENTITY, "url": ENTITY}]}
                         if self.version == 4 else {"d": {"EntitySets": [ENTITY]}})
        elif rest == ENTITY:
            rows = list(self.records.values())
            flt = request.query_params.get("$filter")
            if flt:
                wanted = set(v.replace("''", "'") for v in re.findall(r"ExternalReference eq '((?:[^']|'')*)'", flt))
                rows = [r for r in rows if r.get("ExternalReference") in wanted]
            top = int(request.query_params.get("$top", "1000"))
            rows = [self._entity(r) for r in rows[:top]]
            body = {"value": rows} if self.version == 4 else {"d": {"results": rows}}
        else:
            return self._error(404, "/IWBEP/CM_MGW_RT/021", f"Resource not found for segment '{rest}'")
        response = Response(json.dumps(body), 200, headers=headers, media_type="application/json")
        if cookie:
            response.set_cookie("SAP_SESSIONID_S4H_100", cookie, httponly=True)
        return response

    # -- $batch -------------------------------------------------------------------------
    async def _batch(self, request: Request) -> Response:
        self.batches += 1
        body = await request.body()
        ctype = request.headers.get("content-type", "")
        m = re.search(r"boundary=([^;\s]+)", ctype)
        if not m:
            return self._error(400, "/IWBEP/CM_MGW_RT/004", "Malformed multipart body: no boundary")
        changesets = self._parse(body.decode(), m.group(1))
        answers: list[str] = []
        committed = 0
        for cs in changesets:
            if self.fail_batch_after is not None and committed >= self.fail_batch_after:
                return self._error(500, "/IWBEP/CX_MGW_TECH_EXCEPTION", "In the context of Data Services an "
                                                                        "unknown internal server error occurred")
            answers.append(self._apply(cs))
            committed += 1
        if self.on_commit is not None:
            self.on_commit()
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        if self.malformed is not None:
            return Response(self.malformed, 202, media_type="text/html")
        boundary = f"batchresponse_{uuid.uuid4()}"
        out = "".join(f"--{boundary}\r\n{a}\r\n" for a in answers) + f"--{boundary}--\r\n"
        return Response(out.encode(), 202, media_type=f"multipart/mixed; boundary={boundary}")

    @staticmethod
    def _parse(text: str, boundary: str) -> list[list[dict[str, Any]]]:
        changesets: list[list[dict[str, Any]]] = []
        for part in text.split(f"--{boundary}")[1:]:
            if part.startswith("--"):
                break
            head, _, content = part.strip("\r\n").partition("\r\n\r\n")
            cs = re.search(r"boundary=([^;\s]+)", head)
            if not cs:
                continue
            ops = []
            for op in content.split(f"--{cs.group(1)}")[1:]:
                if op.startswith("--"):
                    break
                _mime, _, http = op.strip("\r\n").partition("\r\n\r\n")
                request_line, _, rest = http.partition("\r\n")
                _headers, _, payload = rest.partition("\r\n\r\n")
                method, url, _ = request_line.split(" ", 2)
                ops.append({"method": method, "url": url, "body": json.loads(payload) if payload.strip() else None})
            changesets.append(ops)
        return changesets

    def _apply(self, ops: list[dict[str, Any]]) -> str:
        staged: dict[str, dict[str, Any]] = {}
        responses: list[str] = []
        for op in ops:
            body = op["body"] or {}
            if op["method"] == "POST" and op["url"] == ENTITY:
                if body.get("SupplierId") == "BOOM":
                    return self._http_error(500, "/IWBEP/CX_MGW_BUSI_EXCEPTION", "Update of table ZCO2 failed")
                problems = []
                if not body.get("SupplierId"):
                    problems.append({"code": "ZCARBON/001", "message": "Supplier is required", "propertyref": "SupplierId",
                                     "severity": "error", "target": ""})
                co2 = body.get("Co2Tonnes")
                if not isinstance(co2, int | float) or co2 < 0:
                    problems.append({"code": "ZCARBON/002", "message": f"CO2 value {co2!r} is not a positive number",
                                     "propertyref": "Co2Tonnes", "severity": "error", "target": ""})
                if problems:
                    return self._http_error(400, problems[0]["code"], problems[0]["message"], problems)
                with self.lock:
                    key = f"{len(self.records) + len(staged) + 1:010d}"
                    rec = {"RecordId": key, **body}
                    staged[key] = rec
                entity = self._entity(rec)
                payload = json.dumps(entity if self.version == 4 else {"d": entity})
                loc = f"Location: {self._uri(key)}\r\n"
                responses.append(f"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n{loc}"
                                 f"Content-Length: {len(payload)}\r\n\r\n{payload}")
            elif op["method"] in ("MERGE", "PATCH") and op["url"].startswith(f"{ENTITY}("):
                key = re.search(r"'([^']*)'", op["url"])
                rec = self.records.get(key.group(1) if key else "")
                if rec is None:
                    return self._http_error(404, "/IWBEP/CM_MGW_RT/021", f"Record {op['url']} not found")
                staged[rec["RecordId"]] = {**rec, **body}
                responses.append("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            else:
                return self._http_error(405, "/IWBEP/CM_MGW_RT/020", f"{op['method']} {op['url']} is not supported")
        with self.lock:
            self.records.update(staged)
        inner = f"changesetresponse_{uuid.uuid4()}"
        parts = "".join(f"--{inner}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
                        f"{r}\r\n" for r in responses)
        return f"Content-Type: multipart/mixed; boundary={inner}\r\n\r\n{parts}--{inner}--"

    def _http_error(self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> str:
        payload = json.dumps(self._error_body(code, message, details))
        reason = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error"}
        return (f"Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
                f"HTTP/1.1 {status} {reason.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n{payload}")
