"""Saying *what* failed when another system cannot be reached: DNS, connect, TLS, auth,
permission. Used by the connection test (``POST /api/connections/{id}/test``) and by the
connectors, so a node error names the same stage as the test would.

``Problem(stage, message)`` is the answer; ``stage`` is one of :data:`STAGES`. Messages never
hold a secret: callers pass URLs through :func:`datacollect.integrations.http.mask_url` first.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from typing import Any
from urllib.parse import urlsplit

import httpx

#: In the order a connection goes through them.
STAGES = ("config", "dns", "connect", "tls", "protocol", "auth", "permission", "not_found", "server", "ok")


class Problem(Exception):
    """A connection problem at ``stage`` with a message for people."""

    def __init__(self, stage: str, message: str, *, status: int | None = None, transient: bool = False) -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.status = status
        self.transient = transient

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"stage": self.stage, "message": self.message}
        if self.status is not None:
            out["status"] = self.status
        return out


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if not parts.hostname:
        raise Problem("config", f"'{url}' has no host name")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


async def resolve(host: str, port: int) -> None:
    """Raise Problem('dns') when ``host`` has no address."""
    try:
        await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise Problem("dns", f"The name {host} does not resolve (DNS): {e.strerror or e}. Check the host "
                             "name, or this server's DNS.", transient=e.errno == socket.EAI_AGAIN) from None
    except UnicodeError:
        raise Problem("config", f"'{host}' is not a valid host name") from None


def ssl_context(verify: bool = True, ca_cert: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if ca_cert:
        ctx.load_verify_locations(cadata=ca_cert)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _chain(e: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = e
    while cur is not None and cur not in out and len(out) < 10:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def tls_reason(e: BaseException) -> str | None:
    """A plain reason when ``e`` (or what caused it) is a TLS failure."""
    for x in _chain(e):
        if isinstance(x, ssl.SSLCertVerificationError):
            return f"the server's certificate is not trusted ({x.verify_message or x.reason})"
        if isinstance(x, ssl.SSLError):
            return f"the TLS handshake failed ({x.reason or x})"
    text = str(e)
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text and "handshake" in text.lower():
        return f"the TLS handshake failed ({text})"
    return None


def classify(e: BaseException, where: str) -> Problem:
    """A Problem for a network exception raised while talking to ``where`` (host:port)."""
    tls = tls_reason(e)
    if tls:
        return Problem("tls", f"TLS with {where} failed: {tls}. Check the address and port, or trust the "
                              "server's certificate (ca_cert).")
    for x in _chain(e):
        if isinstance(x, socket.gaierror):
            return Problem("dns", f"The name in {where} does not resolve (DNS): {x.strerror or x}",
                           transient=x.errno == socket.EAI_AGAIN)
        if isinstance(x, ConnectionRefusedError) or getattr(x, "errno", None) == errno.ECONNREFUSED:
            return Problem("connect", f"Nothing answers at {where}: the connection was refused. Check the "
                                      "port, and that the server is running.", transient=True)
        if isinstance(x, (TimeoutError, socket.timeout, httpx.TimeoutException)):
            return Problem("connect", f"{where} did not answer in time (a firewall, or the server is down).",
                           transient=True)
        if isinstance(x, OSError) and getattr(x, "errno", None) in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return Problem("connect", f"{where} cannot be reached from here (no route).", transient=True)
    if isinstance(e, httpx.RemoteProtocolError):
        return Problem("protocol", f"{where} closed the connection without a proper answer ({e}).",
                       transient=True)
    if isinstance(e, httpx.ConnectError):
        return Problem("connect", f"Cannot connect to {where}: {e}", transient=True)
    return Problem("connect", f"Cannot talk to {where}: {type(e).__name__}: {e}", transient=True)


def http_status_problem(status: int, where: str, detail: str = "") -> Problem | None:
    """The stage a status names (None for a success)."""
    extra = f": {detail}" if detail else ""
    if status < 400:
        return None
    if status == 401:
        return Problem("auth", f"{where} refused the credentials (401){extra}. Check the user and password, "
                               "token or keys.", status=status)
    if status == 403:
        return Problem("permission", f"{where} accepted the credentials but refused access (403){extra}. The "
                                     "user lacks a role or authorisation for this service.", status=status)
    if status == 404:
        return Problem("not_found", f"{where} has nothing at this address (404){extra}. Check the path, "
                                    "service or resource name.", status=status)
    if status == 429 or status >= 500:
        return Problem("server", f"{where} failed to answer ({status}){extra}.", status=status, transient=True)
    return Problem("protocol", f"{where} answered {status}{extra}.", status=status)


__all__ = ["Problem", "STAGES", "classify", "host_port", "http_status_problem", "resolve", "ssl_context",
           "tls_reason"]
