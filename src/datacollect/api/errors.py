"""One error shape for every 4xx/5xx: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from datacollect.errors import (
    Conflict,
    DatacollectError,
    DefinitionError,
    ExpressionError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthorized,
)

log = logging.getLogger("datacollect.api")


class JSONBytes(Response):
    """A JSON answer encoded with orjson (datetimes as ISO 8601)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)

STATUS = [(Unauthorized, 401), (NotFound, 404), (Conflict, 409), (PermissionDenied, 403), (DefinitionError, 422),
          (ExpressionError, 422), (InvalidInput, 400)]


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> JSONBytes:
    return JSONBytes({"error": {"code": code, "message": message, "details": details}},
                          status_code=status, headers=headers)


def _status_for(exc: DatacollectError) -> int:
    if getattr(exc, "http_status", None):  # an error that names its own status (410, 413, 415...)
        return int(exc.http_status)  # type: ignore[attr-defined]
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def _validation_details(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    details = []
    message = "The request is not valid"
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        where = ".".join(loc)
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx") or {}
            message = f"The body is not valid JSON: {ctx.get('error', 'parse error')}"
            details.append({"field": None, "message": message})
            continue
        msg = err.get("msg", "invalid")
        if err.get("type") == "missing":
            msg = f"'{loc[-1] if loc else 'body'}' is required"
        details.append({"field": where or None, "message": msg})
    if details and message == "The request is not valid":
        first = details[0]
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    return message, details


def install(app: FastAPI) -> None:
    @app.exception_handler(DatacollectError)
    async def _domain(request: Request, exc: DatacollectError) -> JSONBytes:
        status = _status_for(exc)
        if status >= 500:
            log.error("unexpected error on %s %s: %s", request.method, request.url.path, exc.message)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return error_response(status, exc.code, exc.message, exc.details, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONBytes:
        message, details = _validation_details(exc)
        invalid_json = any(e.get("type") == "json_invalid" for e in exc.errors())
        return error_response(400 if invalid_json else 422, "invalid_json" if invalid_json else "invalid_request",
                              message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONBytes:
        codes = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                 413: "too_large", 429: "too_many_requests"}
        message = exc.detail if isinstance(exc.detail, str) else "Request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = f"There is nothing at {request.url.path}"
        if exc.status_code == 405 and message == "Method Not Allowed":
            message = f"{request.method} is not allowed on {request.url.path}"
        return error_response(exc.status_code, codes.get(exc.status_code, "error"), message,
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONBytes:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "Something went wrong on the server; it has been logged")


class BodyLimit:
    """Refuses bodies above ``limit`` bytes with 413, before and while they are read."""

    def __init__(self, app: Any, limit: int, skip: Any = None) -> None:
        self.app = app
        self.limit = limit
        self.skip = skip  # paths with a limit of their own (form uploads)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or (self.skip is not None and self.skip(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    if int(value) > self.limit:
                        await self._refuse(send)
                        return
                except ValueError:
                    pass
        seen = 0
        too_big = False

        async def limited() -> Any:
            nonlocal seen, too_big
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    too_big = True
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        resp = error_response(413, "too_large", f"The body is larger than the limit of {self.limit} bytes "
                                                "(DATACOLLECT_MAX_BODY_BYTES)")
        await send({"type": "http.response.start", "status": 413, "headers": resp.raw_headers})
        await send({"type": "http.response.body", "body": resp.body})


class _TooLarge(Exception):
    pass
