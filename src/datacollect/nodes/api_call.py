"""APICall: call an HTTP API once per item (or once for all items) and pass on its answers.

``endpoint``, ``headers``, ``query``, ``body_mapping`` and the auth values may hold templates
(``https://api.example.com/suppliers/{{ item.id }}``). Without ``body_mapping``, POST, PUT and
PATCH send the item itself as JSON (all items as ``{"items": [...]}`` when ``per_item`` is
off); with it, the rendered mapping is sent (rendered once with ``items`` in scope when
``per_item`` is off).

Exactly once
    Every attempt of a call carries the header ``Idempotency-Key: run_id/node_id/lane/index``
    (``run_id/node_id/lane`` for a single call), the same when the engine retries the step, so
    an API that honours the header never applies a call twice.

Retries
    429, 5xx (but 501 and 505) and network errors are retried ``max_retries`` times, waiting
    ``retry_backoff * 2**n`` seconds with jitter, or what ``Retry-After`` asks (up to
    ``max_retry_wait``; longer, and the call gives up at once).

Ports and errors
    ``main``  per item ``{...item, "response": {"status", "body"}}``; with ``response_path``,
              the records found there in the answers instead (one item per record, across
              pages with ``pagination``).
    ``error`` items whose call failed: 4xx other than 429, a transient failure that outlived
              its retries while other calls succeeded, a template that fails on the item, each
              with ``error: {"message", "status", "body"}`` (the first 1,000 characters of the
              answer).
    A ``RetryableNodeError`` is raised when no call got through for a transient reason (server
    down, unreachable, overloaded), so the engine's retry policy takes over. Auth headers and
    API keys are never logged or put in messages.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Literal
from urllib.parse import urljoin

import httpx
from pydantic import Field, model_validator

from datacollect.engine.expressions import Evaluator, check_template, compile_template
from datacollect.errors import ExpressionError, NodeError, RetryableNodeError
from datacollect.integrations import http
from datacollect.nodes.base import (
    Item,
    Items,
    Node,
    NodeConfig,
    NodeContext,
    Output,
    Template,
)

BODY_METHODS = ("POST", "PUT", "PATCH")
EXCERPT = 1000


# ---------------------------------------------------------------------------------- auth
class NoAuth(NodeConfig):
    type: Literal["none"] = Field("none", description="No authentication.")


class BasicAuth(NodeConfig):
    type: Literal["basic"] = Field(description="HTTP Basic authentication.")
    username: Template = Field(description="User name (may be a template).")
    password: Template = Field(description="Password (may be a template, e.g. {{ vars.erp_password }}).",
                               json_schema_extra={"writeOnly": True, "sensitive": True})


class BearerAuth(NodeConfig):
    type: Literal["bearer"] = Field(description="A bearer token in the Authorization header.")
    token: Template = Field(description="The token (may be a template).",
                            json_schema_extra={"writeOnly": True, "sensitive": True})


class ApiKeyAuth(NodeConfig):
    type: Literal["api_key"] = Field(description="An API key in a header or a query parameter.")
    name: str = Field("X-API-Key", min_length=1, description="Header or query parameter name.")
    value: Template = Field(description="The key (may be a template).",
                            json_schema_extra={"writeOnly": True, "sensitive": True})
    in_: Literal["header", "query"] = Field("header", alias="in",
                                            description="Send the key as a header or in the query.")


Auth = Annotated[NoAuth | BasicAuth | BearerAuth | ApiKeyAuth, Field(discriminator="type")]


# ---------------------------------------------------------------------------- pagination
class NextUrlPagination(NodeConfig):
    type: Literal["next_url"] = Field(description="Each answer holds the URL of the next page.")
    path: str = Field(min_length=1, description="Where the next page's URL is in the answer, e.g. links.next.")
    max_pages: int = Field(100, ge=1, le=10_000, description="Stop after this many pages.")


class PagePagination(NodeConfig):
    type: Literal["page"] = Field(description="A page number in the query; stops at an empty page.")
    param: str = Field("page", min_length=1, description="The query parameter of the page number.")
    start: int = Field(1, ge=0, description="The number of the first page.")
    max_pages: int = Field(100, ge=1, le=10_000, description="Stop after this many pages.")


class LinkHeaderPagination(NodeConfig):
    type: Literal["link_header"] = Field(description="The next page is in the Link header (rel=\"next\").")
    max_pages: int = Field(100, ge=1, le=10_000, description="Stop after this many pages.")


Pagination = Annotated[NextUrlPagination | PagePagination | LinkHeaderPagination,
                       Field(discriminator="type")]


# ---------------------------------------------------------------------------------- node
@dataclass
class _Outcome:
    """What one call gave: an answer, or an error (``transient``: the retries ran out)."""

    status: int | None = None
    body: Any = None
    records: list[Any] | None = None
    error: dict[str, Any] | None = None
    transient: bool = False


def _dig(value: Any, path: str) -> tuple[bool, Any]:
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value


def _body_of(response: httpx.Response) -> Any:
    if not response.content:
        return None
    if "json" in response.headers.get("content-type", ""):
        try:
            return response.json()
        except ValueError:
            pass
    return response.text


def _excerpt(response: httpx.Response) -> str:
    text = response.text
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"


def _as_item(record: Any) -> Item:
    return record if isinstance(record, dict) else {"value": record}


def _query_value(v: Any) -> Any:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return [_query_value(x) for x in v]
    return v if isinstance(v, str) else json.dumps(v) if isinstance(v, dict) else str(v)


class APICall(Node):
    type = "APICall"
    category = "output"
    description = ("Call an HTTP API for each item (or once for all), with auth, retries, "
                   "pagination and an Idempotency-Key so a retried step never applies twice.")
    icon = "globe"
    ports = ("main", "error")
    side_effects = True

    class Config(NodeConfig):
        endpoint: Template = Field(
            min_length=1,
            description="The URL to call; may hold templates, e.g. https://api.example.com/suppliers/{{ item.id }}. "
                        "With a connection, a path such as /suppliers/{{ item.id }} after its base URL.")
        connection: str | None = Field(
            None, description="A stored HTTP connection: its base URL and its sign-in (basic, bearer, API key, "
                              "OAuth2 client credentials), kept encrypted under Connections.",
            json_schema_extra={"format": "connection", "connection_kind": "http"})
        method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = Field(
            "POST", description="The HTTP method.")
        headers: dict[str, Template] = Field(
            default_factory=dict, description="Headers to send; values may be templates.")
        query: dict[str, Any] = Field(
            default_factory=dict,
            description="Query parameters; values may be templates, lists repeat the parameter, empty ones are left out.")
        body_mapping: dict[str, Any] | list[Any] | str | None = Field(
            None,
            description=("The JSON body to send, with templates ({\"supplierId\": \"{{ item.id }}\"}). "
                         "Leave empty to send the item itself (POST, PUT, PATCH). When per_item is "
                         "off it is rendered once, with all items as items."))
        auth: Auth = Field(default_factory=NoAuth, description="How to authenticate.")  # type: ignore[arg-type]
        per_item: bool = Field(
            True, description="One call per item; off: one call with all items as {\"items\": [...]}.")
        max_retries: int = Field(
            3, ge=0, le=20, description="Retries of a call after 429, 5xx or a network error.")
        retry_backoff: float = Field(
            0.5, ge=0, le=600, description="Seconds before the first retry; doubled each time, with jitter.")
        max_retry_wait: float = Field(
            60, ge=0, le=3600,
            description="The longest wait between two attempts, Retry-After included; a longer "
                        "Retry-After ends the retries and the step is retried later.")
        timeout: float = Field(30, gt=0, le=600, description="Seconds to wait for each answer.")
        idempotency_header: str | None = Field(
            "Idempotency-Key",
            description="The header carrying the call's idempotency key; empty to send none.")
        pagination: Pagination | None = Field(
            None, description="Follow the pages of a GET answer (next URL, page number or Link header).")
        response_path: str | None = Field(
            None,
            description=("Where the records are in the JSON answer, e.g. data.items: each record "
                         "becomes an item. Empty: each item gets response {status, body}."))
        concurrency: int = Field(5, ge=1, le=100, description="Calls made at the same time.")

        @model_validator(mode="after")
        def _check(self) -> APICall.Config:
            if self.pagination is not None and self.method != "GET":
                raise ValueError("pagination works with GET only: set method to GET or remove pagination")
            if not self.connection and not self.endpoint.strip().lower().startswith(("http://", "https://", "{{")):
                raise ValueError("endpoint must be an http:// or https:// URL, "
                                 "e.g. https://api.example.com/suppliers (or a path, with a connection)")
            if self.connection and self.auth.type != "none":
                raise ValueError("sign in either with the connection or with auth, not both: "
                                 "remove auth, or the connection")
            return self

    @property
    def cfg(self) -> APICall.Config:
        assert isinstance(self.config, APICall.Config)
        return self.config

    def check(self) -> list[str]:
        cfg = self.cfg
        problems: list[str] = []
        for name in ("endpoint", "headers", "query", "body_mapping"):
            problems += [f"{name}{'.' + p if p else ''}: {r}" for p, r in check_template(getattr(cfg, name))]
        problems += [f"auth.{p}: {r}" for p, r in check_template(cfg.auth.model_dump(by_alias=True))]
        return problems

    @cached_property
    def _templates(self) -> dict[str, Evaluator]:
        cfg = self.cfg
        body = cfg.body_mapping
        return {
            "endpoint": compile_template(cfg.endpoint),
            "headers": compile_template(cfg.headers),
            "query": compile_template(cfg.query),
            "body": compile_template(body) if body is not None else (lambda scope: None),
            "auth": compile_template(cfg.auth.model_dump(by_alias=True)),
        }

    # ------------------------------------------------------------------------------ run
    async def run(self, ctx: NodeContext, items: Items) -> Output:
        cfg = self.cfg
        if not items:
            return {"main": []}
        policy = http.RetryPolicy(cfg.max_retries, cfg.retry_backoff, cfg.max_retry_wait)
        client = http.client()
        refresh = None
        if cfg.connection:
            auth_headers, auth_query, base, refresh = await self._signed_in(ctx, client)
        else:
            auth_headers, auth_query = http.auth_parts(self._templates["auth"](ctx.scope))
            base = None
        secret_params = set(auth_query)

        if not cfg.per_item:
            scope = ctx.with_item(items[0])
            scope["items"] = items
            body = self._templates["body"](scope)
            if body is None and cfg.method in BODY_METHODS and cfg.body_mapping is None:
                body = {"items": items}
            outcome = await self._call(client, policy, scope, body, ctx.idempotency_key,
                                       auth_headers, auth_query, secret_params, base, refresh)
            if outcome.transient:
                raise RetryableNodeError(outcome.error["message"], details=outcome.error)  # type: ignore[index]
            ctx.log(self._summary([outcome]))
            if outcome.error is not None:
                return {"main": [], "error": [{**it, "error": outcome.error} for it in items]}
            if cfg.response_path is not None:
                return {"main": [_as_item(r) for r in outcome.records or []]}
            return {"main": [{"response": {"status": outcome.status, "body": outcome.body}}]}

        outcomes: list[_Outcome | None] = [None] * len(items)
        next_index = iter(range(len(items)))

        async def worker() -> None:
            for i in next_index:
                item = items[i]
                scope = ctx.with_item(item)
                try:
                    body = self._templates["body"](scope)
                except ExpressionError as e:
                    outcomes[i] = _Outcome(error={"message": f"Cannot build the request body: {e.message}"})
                    continue
                if body is None and cfg.method in BODY_METHODS and cfg.body_mapping is None:
                    body = item
                outcomes[i] = await self._call(client, policy, scope, body, ctx.item_key(i),
                                               auth_headers, auth_query, secret_params, base, refresh)

        async with asyncio.TaskGroup() as tg:
            for _ in range(min(cfg.concurrency, len(items))):
                tg.create_task(worker())

        done = [o for o in outcomes if o is not None]
        ctx.log(self._summary(done))
        if done and all(o.transient for o in done):
            first = done[0].error or {}
            raise RetryableNodeError(
                f"{first.get('message')} (no call of this step got through)", details=first)
        main: list[Item] = []
        error: list[Item] = []
        for item, o in zip(items, outcomes, strict=True):
            assert o is not None
            if o.error is not None:
                error.append({**item, "error": o.error})
            elif cfg.response_path is not None:
                main.extend(_as_item(r) for r in o.records or [])
            else:
                main.append({**item, "response": {"status": o.status, "body": o.body}})
        out: Output = {"main": main}
        if error:
            out["error"] = error
        return out

    async def _signed_in(self, ctx: NodeContext, client: httpx.AsyncClient
                         ) -> tuple[dict[str, str], dict[str, str], str, Any]:
        """The stored connection's sign-in (headers, query parameters), its base URL, and for
        OAuth2 a way to sign in again when the API answers 401."""
        from datacollect.integrations.http_auth import auth_parts
        from datacollect.integrations.netcheck import Problem

        conns = ctx.services.connections
        if conns is None:
            raise NodeError("This step names a connection, and no connections are configured here")
        conn = conns.get(str(self.cfg.connection), "http")
        try:
            headers, query = await auth_parts(conn, client)
        except Problem as exc:  # the token endpoint did not answer as it should
            raise RetryableNodeError(f"Signing in with the connection '{conn.id}' failed: {exc}") from None
        refresh = None
        if conn.values.get("auth_type") == "oauth2":
            async def refresh() -> tuple[dict[str, str], dict[str, str]]:
                try:
                    return await auth_parts(conn, client, refresh=True)
                except Problem as exc:
                    raise RetryableNodeError(f"Signing in again with the connection '{conn.id}' failed: {exc}") from None
        return headers, query, str(conn.settings().base_url), refresh

    @staticmethod
    def _summary(outcomes: list[_Outcome]) -> str:
        counts = Counter(str(o.status) if o.status is not None else "no answer" for o in outcomes)
        return "calls: " + ", ".join(f"{k} x{n}" for k, n in sorted(counts.items()))

    # --------------------------------------------------------------------- one call
    async def _call(self, client: httpx.AsyncClient, policy: http.RetryPolicy, scope: dict[str, Any],
                    body: Any, key: str, auth_headers: dict[str, str], auth_query: dict[str, str],
                    secret_params: set[str], base: str | None = None, refresh: Any = None) -> _Outcome:
        cfg = self.cfg
        try:
            url = str(self._templates["endpoint"](scope)).strip()
            if base and not url.lower().startswith(("http://", "https://")):
                url = base.rstrip("/") + "/" + url.lstrip("/")
            headers = {k: str(v) for k, v in self._templates["headers"](scope).items() if v is not None}
            query = {k: _query_value(v) for k, v in self._templates["query"](scope).items()
                     if v is not None and v != ""}
        except ExpressionError as e:
            return _Outcome(error={"message": f"Cannot build the request: {e.message}"})
        if not url.lower().startswith(("http://", "https://")):
            return _Outcome(error={"message": f"The endpoint {url!r} is not an http:// or https:// URL."})
        headers.update(auth_headers)
        if cfg.idempotency_header:
            headers[cfg.idempotency_header] = key
        content: bytes | None = None
        if body is not None:
            if isinstance(body, str):
                content = body.encode()
                headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            else:
                content = json.dumps(body, ensure_ascii=False, default=str).encode()
                if not any(h.lower() == "content-type" for h in headers):
                    headers["Content-Type"] = "application/json"
        query.update(auth_query)

        records: list[Any] = []
        pages = 0
        seen: set[str] = set()
        pag = cfg.pagination
        page_no = pag.start if isinstance(pag, PagePagination) else None
        status: int | None = None
        body_out: Any = None
        refreshed = False
        while True:
            if page_no is not None:
                query[pag.param] = str(page_no)  # type: ignore[union-attr]
            try:
                target = httpx.URL(url)
                if query:  # merged with the query the URL already has
                    target = target.copy_merge_params(query)
                request = client.build_request(cfg.method, target, headers=headers,
                                               content=content, timeout=cfg.timeout)
                shown = http.mask_url(request.url, secret_params)
                response = await http.send(client, request, policy,
                                           follow_redirects=cfg.method in ("GET", "HEAD"))
            except http.RetriesExhausted as e:
                return self._exhausted(e, shown)
            except (httpx.InvalidURL, httpx.UnsupportedProtocol, httpx.LocalProtocolError) as e:
                return _Outcome(error={"message": f"Cannot send {cfg.method} {http.mask_url(url, secret_params)}: {e}"})
            status = response.status_code
            if status == 401 and refresh is not None and not refreshed:
                # an OAuth2 token revoked or expired early: sign in again, once, and send again
                refreshed = True
                new_headers, new_query = await refresh()
                headers.update(new_headers)
                query.update(new_query)
                continue
            body_out = _body_of(response)
            if status >= 400:
                return _Outcome(status=status, error={
                    "message": f"{cfg.method} {shown} answered {status} {response.reason_phrase}".strip(),
                    "status": status, "body": _excerpt(response)})
            pages += 1
            if cfg.response_path is not None or pag is not None:
                found, page_records = self._records(body_out)
                if not found and pages == 1:
                    return _Outcome(status=status, error={
                        "message": f"The answer of {cfg.method} {shown} has no {cfg.response_path!r}.",
                        "status": status, "body": _excerpt(response)})
                records.extend(page_records)
            if pag is None or pages >= pag.max_pages:
                break
            seen.add(str(request.url))
            if isinstance(pag, PagePagination):
                if not page_records:
                    break
                page_no += 1  # type: ignore[operator]
                continue
            if isinstance(pag, NextUrlPagination):
                ok, nxt = _dig(body_out, pag.path)
                nxt = nxt if ok and isinstance(nxt, str) and nxt else None
            else:
                nxt = response.links.get("next", {}).get("url")
            if not nxt:
                break
            url = urljoin(str(response.url), nxt)
            query = dict(auth_query)  # the next URL carries its own query
            if url in seen:
                break
        if pag is not None:
            return _Outcome(status=status, body=records, records=records)
        return _Outcome(status=status, body=body_out, records=records)

    def _records(self, body: Any) -> tuple[bool, list[Any]]:
        path = self.cfg.response_path
        if path:
            found, value = _dig(body, path)
        else:
            found, value = True, body
        if not found or value is None:
            return found, []
        return True, value if isinstance(value, list) else [value]

    def _exhausted(self, e: http.RetriesExhausted, shown: str) -> _Outcome:
        cfg = self.cfg
        attempts = f"{e.attempts} attempt{'s' if e.attempts != 1 else ''}"
        error: dict[str, Any] = {"message": f"{cfg.method} {shown} failed after {attempts}: {e.reason}"}
        if e.response is not None:
            error["status"] = e.response.status_code
            error["body"] = _excerpt(e.response)
        return _Outcome(status=e.response.status_code if e.response is not None else None,
                        error=error, transient=True)

