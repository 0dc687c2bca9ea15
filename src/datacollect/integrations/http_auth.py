"""Authentication of an ``http`` connection: basic, bearer, API key (header or query), or
OAuth2 client credentials with the token cached until shortly before it expires and fetched
again when the API answers 401 (``refresh=True``).

    headers, query = await auth_parts(conn, client)             # the cached token, if any
    headers, query = await auth_parts(conn, client, refresh=True)  # after a 401
    response = await send(conn, client, "GET", url)               # both, in one call
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from datacollect.integrations.http import basic_credentials
from datacollect.integrations.netcheck import Problem, classify

#: (connection id, token url, client id) -> (access token, expires at, monotonic)
_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
_locks: dict[tuple[str, str, str], asyncio.Lock] = {}
EARLY = 30.0  # fetch a new token this many seconds before the old one expires


async def oauth2_token(conn: Any, client: httpx.AsyncClient, *, refresh: bool = False) -> str:
    s = conn.settings()
    key = (conn.id, str(s.token_url), str(s.client_id))
    lock = _locks.setdefault(key, asyncio.Lock())
    async with lock:
        cached = _tokens.get(key)
        if cached and not refresh and cached[1] > time.monotonic():
            return cached[0]
        form = {"grant_type": "client_credentials"}
        if s.scope:
            form["scope"] = s.scope
        if s.audience:
            form["audience"] = s.audience
        try:
            r = await client.post(str(s.token_url), data=form, headers={
                "Authorization": basic_credentials(str(s.client_id), s.client_secret.get_secret_value()),
                "Accept": "application/json"})
        except httpx.HTTPError as e:
            raise classify(e, f"the token endpoint {s.token_url}") from None
        if r.status_code in (400, 401, 403):
            reason = ""
            try:
                body = r.json()
                reason = body.get("error_description") or body.get("error") or ""
            except ValueError:
                pass
            raise Problem("auth", f"The token endpoint {s.token_url} refused the client id and secret ({r.status_code}"
                                  f"{': ' + reason if reason else ''}).", status=r.status_code)
        if r.status_code >= 400:
            raise Problem("server", f"The token endpoint {s.token_url} answered {r.status_code}.", status=r.status_code,
                          transient=r.status_code >= 500)
        try:
            body = r.json()
            token = str(body["access_token"])
        except (ValueError, KeyError, TypeError):
            raise Problem("protocol", f"The token endpoint {s.token_url} answered without an access_token.") from None
        expires_in = float(body.get("expires_in") or 3600)
        _tokens[key] = (token, time.monotonic() + max(0.0, expires_in - EARLY))
        return token


async def auth_parts(conn: Any, client: httpx.AsyncClient, *, refresh: bool = False
                     ) -> tuple[dict[str, str], dict[str, str]]:
    s = conn.settings()
    kind = s.auth_type
    if kind == "basic":
        return {"Authorization": basic_credentials(str(s.username), s.password.get_secret_value())}, {}
    if kind == "bearer":
        return {"Authorization": f"Bearer {s.token.get_secret_value()}"}, {}
    if kind == "api_key":
        value = s.api_key.get_secret_value()
        return ({}, {s.api_key_name: value}) if s.api_key_in == "query" else ({s.api_key_name: value}, {})
    if kind == "oauth2":
        return {"Authorization": f"Bearer {await oauth2_token(conn, client, refresh=refresh)}"}, {}
    return {}, {}


def forget(connection_id: str) -> None:
    """Drop cached tokens of a connection (after it changed)."""
    for key in [k for k in _tokens if k[0] == connection_id]:
        _tokens.pop(key, None)


async def send(conn: Any, client: httpx.AsyncClient, method: str, url: str, **kw: Any) -> httpx.Response:
    """One call with the connection's authentication. With OAuth2, a 401 fetches a new token
    and the call is made once more (the token was revoked or expired early)."""
    headers, query = await auth_parts(conn, client)
    params = {**dict(kw.pop("params", None) or {}), **query}
    extra = dict(kw.pop("headers", None) or {})
    r = await client.request(method, url, headers={**extra, **headers}, params=params, **kw)
    if r.status_code == 401 and conn.values.get("auth_type") == "oauth2":
        headers, query = await auth_parts(conn, client, refresh=True)
        r = await client.request(method, url, headers={**extra, **headers}, params={**params, **query}, **kw)
    return r
