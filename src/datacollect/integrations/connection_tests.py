"""``POST /api/connections/{id}/test``: try a connection the way a node would use it, and say
what failed: ``dns``, ``connect``, ``tls``, ``auth``, ``permission``, ``not_found``,
``protocol`` or ``server`` (stages of :mod:`datacollect.integrations.netcheck`).

    result = await test_connection(resolved)
    # {"ok": False, "stage": "auth", "message": "SAP (...) refused the credentials (401)...",
    #  "checked": ["dns", "connect", "tls"], "duration_ms": 41.2}

Blocking clients (imaplib, smtplib, SQLAlchemy, boto3) run in a worker thread.
"""

from __future__ import annotations

import asyncio
import imaplib
import smtplib
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from datacollect.integrations.connections import Resolved
from datacollect.integrations.netcheck import (
    Problem,
    classify,
    host_port,
    http_status_problem,
    resolve,
    ssl_context,
    tls_reason,
)

TIMEOUT = 10.0


async def test_connection(conn: Resolved) -> dict[str, Any]:
    t0 = time.perf_counter()
    checked: list[str] = []
    try:
        await _PROBES[conn.kind](conn, checked)
        result: dict[str, Any] = {"ok": True, "stage": "ok", "message": _OK.get(conn.kind, "The connection works.")}
    except Problem as p:
        result = {"ok": False, **p.as_dict()}
    except Exception as e:  # a probe must answer, not raise
        result = {"ok": False, "stage": "protocol", "message": f"Unexpected failure: {type(e).__name__}: {e}"}
    for secret in conn.secrets():
        if secret and len(secret) >= 4:
            result["message"] = result["message"].replace(secret, "***")
    result["checked"] = checked
    result["duration_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    return result


_OK = {
    "sap": "Logged in to SAP and fetched a CSRF token.",
    "netsuite": "NetSuite accepted the token-based signature.",
    "oracle": "Oracle Fusion accepted the credentials.",
    "http": "The API answered with the credentials.",
    "imap": "Logged in and opened the folder.",
    "smtp": "Logged in to the SMTP server.",
    "database": "Connected to the database.",
    "s3": "The bucket exists and can be listed.",
}


async def _network(url: str, checked: list[str]) -> None:
    host, port = host_port(url)
    await resolve(host, port)
    checked.append("dns")


# ------------------------------------------------------------------------------ HTTP ones
async def _erp(conn: Resolved, checked: list[str]) -> None:
    from datacollect.integrations.erp import connectors

    cls = next(c for c in connectors().values() if c.kind == conn.kind)
    connector = cls(conn)
    url = getattr(connector.settings, "rest_url", None) or connector.settings.base_url
    await _network(url, checked)
    async with connector:
        await connector.check()
    checked += ["connect", "tls", "auth", "permission"] if url.startswith("https") else ["connect", "auth",
                                                                                          "permission"]


async def _http(conn: Resolved, checked: list[str]) -> None:
    from datacollect.integrations.http_auth import auth_parts

    s = conn.settings()
    await _network(s.base_url, checked)
    async with httpx.AsyncClient(verify=ssl_context(s.verify_tls, s.ca_cert), timeout=TIMEOUT) as client:
        headers, query = await auth_parts(conn, client, refresh=True)
        url = s.base_url + ("/" + s.test_path.lstrip("/") if s.test_path else "")
        try:
            r = await client.get(url, headers=headers, params=query)
        except httpx.HTTPError as e:
            raise classify(e, s.base_url) from None
        checked += ["connect", "tls"] if url.startswith("https") else ["connect"]
        problem = http_status_problem(r.status_code, s.base_url)
        if problem and not (problem.stage == "not_found" and not s.test_path):
            raise problem
        checked += ["auth", "permission"]


# --------------------------------------------------------------------------- blocking ones
def _imap_sync(conn: Resolved, checked: list[str]) -> None:
    s = conn.settings()
    where = f"{s.host}:{s.port}"
    ctx = ssl_context(s.verify_tls, s.ca_cert)
    try:
        if s.security == "tls":
            m: imaplib.IMAP4 = imaplib.IMAP4_SSL(s.host, s.port, ssl_context=ctx, timeout=TIMEOUT)
        else:
            m = imaplib.IMAP4(s.host, s.port, timeout=TIMEOUT)
            if s.security == "starttls":
                m.starttls(ssl_context=ctx)
    except (OSError, imaplib.IMAP4.error) as e:
        raise classify(e, where) from None
    checked += ["connect", "tls"] if s.security != "none" else ["connect"]
    try:
        try:
            m.login(s.username, s.password.get_secret_value())
        except imaplib.IMAP4.error as e:
            raise Problem("auth", f"The IMAP server {where} refused the user name or password ({_text(e)}).") from None
        checked.append("auth")
        typ, data = m.select(_quote_folder(s.folder), readonly=True)
        if typ != "OK":
            raise Problem("not_found", f"The folder '{s.folder}' does not exist or may not be read: {_text(data)}")
        checked.append("permission")
    finally:
        try:
            m.logout()
        except Exception:
            pass


def _quote_folder(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = b" ".join(v for v in value if isinstance(v, bytes))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _smtp_sync(conn: Resolved, checked: list[str]) -> None:
    s = conn.settings()
    where = f"{s.host}:{s.port}"
    ctx = ssl_context(s.verify_tls, s.ca_cert)
    try:
        if s.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=TIMEOUT, context=ctx)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=TIMEOUT)
            if s.security == "starttls":
                smtp.starttls(context=ctx)
    except (OSError, smtplib.SMTPException) as e:
        if isinstance(e, smtplib.SMTPNotSupportedError):
            raise Problem("tls", f"The SMTP server {where} does not offer STARTTLS; choose security 'tls' or "
                                 "'none'.") from None
        raise classify(e, where) from None
    checked += ["connect", "tls"] if s.security != "none" else ["connect"]
    try:
        if s.username:
            try:
                smtp.login(s.username, s.password.get_secret_value() if s.password else "")
            except smtplib.SMTPAuthenticationError as e:
                raise Problem("auth", f"The SMTP server {where} refused the user name or password "
                                      f"({e.smtp_code} {_text(e.smtp_error)}).") from None
            except smtplib.SMTPNotSupportedError:
                raise Problem("auth", f"The SMTP server {where} does not offer a login; leave the user name "
                                      "empty.") from None
            checked.append("auth")
    finally:
        try:
            smtp.quit()
        except Exception:
            pass


_DB_STAGES = (
    ("could not translate host name", "dns"), ("name or service not known", "dns"),
    ("temporary failure in name resolution", "dns"), ("nodename nor servname", "dns"),
    ("password authentication failed", "auth"), ("access denied for user", "auth"),
    ("authentication failed", "auth"), ("no password supplied", "auth"),
    ("permission denied", "permission"), ("does not exist", "not_found"), ("unknown database", "not_found"),
    ("connection refused", "connect"), ("timeout", "connect"), ("timed out", "connect"),
    ("ssl", "tls"), ("certificate", "tls"),
)


def _database_sync(conn: Resolved, checked: list[str]) -> None:
    import sqlalchemy as sa

    from datacollect.integrations.sqldb import mask_url, normalize_url

    raw = str(conn.values.get("url") or "")
    try:
        url = normalize_url(raw)
    except Exception as e:
        raise Problem("config", getattr(e, "message", str(e))) from None
    shown = mask_url(url)
    args: dict[str, Any] = {}
    if url.get_backend_name() in ("postgresql", "mysql", "mariadb"):
        args["connect_timeout"] = int(TIMEOUT)
    try:
        engine = sa.create_engine(url, connect_args=args, poolclass=sa.pool.NullPool)
    except Exception as e:
        raise Problem("config", f"Cannot use {shown}: {e}") from None
    try:
        with engine.connect() as c:
            c.execute(sa.text("SELECT 1"))
    except Exception as e:
        text = str(getattr(e, "orig", None) or e).replace(url.password or "\0", "***") if url.password else str(
            getattr(e, "orig", None) or e)
        low = text.lower()
        stage = next((st for needle, st in _DB_STAGES if needle in low), "connect")
        raise Problem(stage, f"{shown}: {text.strip().splitlines()[0] if text.strip() else type(e).__name__}") from None
    finally:
        engine.dispose()
    checked += ["connect", "auth"]


def _s3_sync(conn: Resolved, checked: list[str]) -> None:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    s = conn.settings()
    client = boto3.client("s3", endpoint_url=s.endpoint_url, region_name=s.region,
                          aws_access_key_id=s.access_key_id,
                          aws_secret_access_key=s.secret_access_key.get_secret_value() if s.secret_access_key else None,
                          config=Config(retries={"max_attempts": 1}, connect_timeout=TIMEOUT, read_timeout=TIMEOUT))
    where = s.endpoint_url or "S3"
    try:
        client.list_objects_v2(Bucket=s.bucket, MaxKeys=1, **({"Prefix": s.prefix} if s.prefix else {}))
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("NoSuchBucket",) or status == 404:
            raise Problem("not_found", f"The bucket '{s.bucket}' does not exist at {where}.", status=404) from None
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"):
            raise Problem("auth", f"{where} refused the access key ({code}).", status=status) from None
        if code in ("AccessDenied", "AllAccessDisabled") or status == 403:
            raise Problem("permission", f"The access key may not list the bucket '{s.bucket}' ({code}).",
                          status=status) from None
        raise Problem("server", f"{where} answered {code or status}.", status=status) from None
    except NoCredentialsError:
        raise Problem("auth", "No S3 access key is set, and none was found in the environment.") from None
    except EndpointConnectionError as e:
        raise classify(e, where) from None
    except BotoCoreError as e:
        tls = tls_reason(e)
        if tls:
            raise Problem("tls", f"TLS with {where} failed: {tls}.") from None
        raise classify(e, where) from None
    checked += ["connect", "auth", "permission"]


def _blocking(fn: Any, host_of: Any = None) -> Any:
    async def probe(conn: Resolved, checked: list[str]) -> None:
        if host_of is not None:
            host, port = host_of(conn)
            if host:
                await resolve(host, port)
                checked.append("dns")
        await asyncio.to_thread(fn, conn, checked)

    return probe


def _db_host(conn: Resolved) -> tuple[str | None, int]:
    from sqlalchemy.engine import make_url

    try:
        url = make_url(str(conn.values.get("url") or ""))
    except Exception:
        return None, 0
    return url.host, url.port or 5432


def _s3_host(conn: Resolved) -> tuple[str | None, int]:
    ep = conn.values.get("endpoint_url")
    if not ep:
        return None, 0
    p = urlsplit(str(ep))
    return p.hostname, p.port or (443 if p.scheme == "https" else 80)


_PROBES: dict[str, Any] = {
    "sap": _erp, "netsuite": _erp, "oracle": _erp, "http": _http,
    "imap": _blocking(_imap_sync, lambda c: (c.values["host"], int(c.values.get("port") or 993))),
    "smtp": _blocking(_smtp_sync, lambda c: (c.values["host"], int(c.values.get("port") or 587))),
    "database": _blocking(_database_sync, _db_host),
    "s3": _blocking(_s3_sync, _s3_host),
}
