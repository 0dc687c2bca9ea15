"""HTTP for nodes that call other systems: a shared client, retries with backoff, auth headers.

* :func:`client` answers one ``httpx.AsyncClient`` per event loop, so connections (and TLS
  sessions) are reused across activations; :func:`aclose_clients` closes them on shutdown.
* :func:`send` sends a request and retries it on 429, on 5xx (but 501 and 505) and on network
  errors, waiting ``backoff * 2**n`` seconds with jitter, or what ``Retry-After`` asks. The same
  request, with the same ``Idempotency-Key`` header, is sent on every attempt. When the retries
  are used up it raises :class:`RetriesExhausted`, carrying the last answer or error.
* :func:`auth_parts` turns an auth setting into headers and query parameters; :func:`mask_url`
  hides passwords and API keys in a URL before it is shown or logged. Headers are never logged.

Example::

    policy = RetryPolicy(max_retries=3, backoff=0.5)
    response = await send(client(), httpx.Request("POST", url, json=body), policy)
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

USER_AGENT = "datacollect"
NOT_RETRIED_5XX = frozenset({501, 505})
#: Query parameters whose values are hidden wherever a URL is logged; auth_parts adds the
#: names of the API keys it puts in a query.
SECRET_PARAMS: set[str] = {"api_key", "apikey", "api-key", "key", "token", "access_token",
                           "secret", "client_secret", "password", "signature", "sig"}

#: How :func:`send` waits between attempts; tests may replace it to record the delays.
sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()


def client() -> httpx.AsyncClient:
    """The shared client of the running event loop (made on first use)."""
    loop = asyncio.get_running_loop()
    c = _clients.get(loop)
    if c is None or c.is_closed:
        c = httpx.AsyncClient(
            headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            follow_redirects=False,
        )
        _clients[loop] = c
    return c


async def aclose_clients() -> None:
    """Close the shared client of the running loop (on shutdown, and between tests)."""
    loop = asyncio.get_running_loop()
    c = _clients.pop(loop, None)
    if c is not None:
        await c.aclose()


# ------------------------------------------------------------------------------ retries
@dataclass(frozen=True)
class RetryPolicy:
    """``max_retries`` attempts after the first; waits grow as ``backoff * 2**n`` seconds (with
    jitter) up to ``max_wait``. A ``Retry-After`` longer than ``max_wait`` ends the retries, so
    that a worker is not held: the step fails as retryable and the engine tries it later."""

    max_retries: int = 3
    backoff: float = 0.5
    max_wait: float = 60.0

    def backoff_delay(self, retry: int) -> float:
        """The wait before retry number ``retry`` (0 for the first retry): equal jitter."""
        base = min(self.max_wait, self.backoff * (2 ** retry))
        return base / 2 + random.uniform(0, base / 2)


def is_retryable_status(status: int) -> bool:
    return status == 429 or (status >= 500 and status not in NOT_RETRIED_5XX)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetriesExhausted(Exception):
    """Every attempt failed with a transient problem; ``response`` is the last answer (None
    when the last attempt got no answer: then ``error`` says why)."""

    def __init__(self, attempts: int, response: httpx.Response | None = None,
                 error: Exception | None = None, reason: str = "") -> None:
        super().__init__(reason)
        self.attempts = attempts
        self.response = response
        self.error = error
        self.reason = reason


def describe_transport_error(e: Exception) -> str:
    text = str(e).strip()
    kind = {
        httpx.ConnectTimeout: "the connection timed out",
        httpx.ReadTimeout: "no answer within the timeout",
        httpx.WriteTimeout: "sending the request timed out",
        httpx.PoolTimeout: "no free connection within the timeout",
        httpx.ConnectError: "could not connect",
        httpx.RemoteProtocolError: "the server closed the connection",
    }.get(type(e), "network error")
    return f"{kind} ({text})" if text and text.lower() not in kind else kind


def is_retryable_error(e: Exception) -> bool:
    """Network errors are worth retrying; a URL we cannot send or a header we cannot write are not."""
    return isinstance(e, httpx.TransportError) and not isinstance(
        e, httpx.UnsupportedProtocol | httpx.LocalProtocolError)


async def send(http: httpx.AsyncClient, request: httpx.Request, policy: RetryPolicy, *,
               follow_redirects: bool = False) -> httpx.Response:
    """Send ``request``, retrying transient failures; answers the first answer that is not
    transient (2xx, 3xx, 4xx but 429). Raises RetriesExhausted, or the httpx error of a
    request that cannot be sent at all."""
    attempt = 0
    while True:
        response: httpx.Response | None = None
        error: Exception | None = None
        try:
            response = await http.send(request, follow_redirects=follow_redirects)
        except httpx.TransportError as e:
            if not is_retryable_error(e):
                raise
            error = e
        if response is not None and not is_retryable_status(response.status_code):
            return response
        if response is not None:
            await response.aread()
            reason = f"answered {response.status_code} {response.reason_phrase}".strip()
        else:
            reason = describe_transport_error(error)  # type: ignore[arg-type]
        if attempt >= policy.max_retries:
            raise RetriesExhausted(attempt + 1, response, error, reason)
        asked = parse_retry_after(response.headers.get("Retry-After")) if response is not None else None
        if asked is not None and asked > policy.max_wait:
            raise RetriesExhausted(attempt + 1, response, error,
                                   f"{reason}, and asked to wait {asked:g} s (Retry-After), longer "
                                   f"than the {policy.max_wait:g} s allowed")
        await sleep(asked if asked is not None else policy.backoff_delay(attempt))
        attempt += 1


# --------------------------------------------------------------------------------- auth
def basic_credentials(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def auth_parts(auth: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Headers and query parameters for an auth setting with its values already rendered:
    ``{"type": "none" | "basic" | "bearer" | "api_key", ...}``."""
    kind = auth.get("type", "none")
    if kind == "basic":
        return {"Authorization": basic_credentials(str(auth.get("username") or ""),
                                                   str(auth.get("password") or ""))}, {}
    if kind == "bearer":
        return {"Authorization": f"Bearer {auth.get('token') or ''}"}, {}
    if kind == "api_key":
        name, value = str(auth.get("name") or "X-API-Key"), str(auth.get("value") or "")
        if auth.get("in") == "query":
            SECRET_PARAMS.add(name.lower())
            return {}, {name: value}
        return {name: value}, {}
    return {}, {}


# ------------------------------------------------------------------------------ masking
def mask_url(url: str | httpx.URL, secret_params: Iterable[str] = ()) -> str:
    """The URL with its password and the values of ``secret_params`` replaced by ``***``."""
    parts = urlsplit(str(url))
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    secrets = {s.lower() for s in secret_params}
    query = parts.query
    if secrets and query:
        pairs = [(k, "***" if k.lower() in secrets else v) for k, v in parse_qsl(query, keep_blank_values=True)]
        query = urlencode(pairs, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class _MaskRequestLog(logging.Filter):
    """httpx logs each request's URL at INFO: hide passwords and keys in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(mask_url(a, SECRET_PARAMS) if isinstance(a, httpx.URL) else a
                                for a in record.args)
        return True


logging.getLogger("httpx").addFilter(_MaskRequestLog())


__all__ = ["RetryPolicy", "RetriesExhausted", "aclose_clients", "auth_parts", "basic_credentials",
           "client", "describe_transport_error", "is_retryable_status", "mask_url",
           "parse_retry_after", "send"]
