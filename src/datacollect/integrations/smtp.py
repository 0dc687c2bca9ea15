"""Sending mail: an SMTP mailer (``engine.ports.Mailer``), a folder mailer for a platform with no
SMTP server configured, and a ledger that makes a send idempotent.

::

    mailer = SmtpMailer.from_settings(settings)
    message_id = await mailer.send(["buyer@supplier.example"], "Your Q1 figures", text, html)

* Mails carry a plain-text part and, when given, an HTML alternative.
* The standard library's ``smtplib`` runs in a worker thread, so the event loop never waits
  on the network. ``send_many`` sends a batch over one connection.
* A server that refuses every recipient raises ``RecipientRefused`` (the address bounced: the
  campaign marks the request ``bounced``); a server that cannot be reached or answers 4xx
  raises ``MailUnavailable``, which is worth retrying.
* ``headers["Idempotency-Key"]`` is not sent; ``LedgerMailer`` uses it so that the same key is
  sent once (the Message-ID is derived from it, so a receiver can drop a duplicate too).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import smtplib
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from pathlib import Path
from typing import Any

from datacollect.errors import NodeError, RetryableNodeError

log = logging.getLogger("datacollect.mail")


class RecipientRefused(NodeError):
    """The server refused the recipients (``refused``: address -> (code, message))."""

    code = "recipient_refused"

    def __init__(self, refused: dict[str, tuple[int, str]]) -> None:
        parts = [f"{a} ({c} {m})" for a, (c, m) in refused.items()]
        super().__init__("The mail server refused " + ", ".join(parts), details={"refused": list(refused)})
        self.refused = refused


class MailUnavailable(RetryableNodeError):
    """The mail server could not be reached or asked to try again later."""

    code = "mail_unavailable"


@dataclass
class Mail:
    to: list[str]
    subject: str
    text: str
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)


def build_message(mail: Mail, sender: str) -> EmailMessage:
    msg = EmailMessage()
    headers = dict(mail.headers)
    key = headers.pop("Idempotency-Key", None)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    msg["Message-ID"] = headers.pop("Message-ID", None) or (
        f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>" if key else make_msgid(domain=domain))
    msg["From"] = sender
    msg["To"] = ", ".join(mail.to)
    if mail.cc:
        msg["Cc"] = ", ".join(mail.cc)
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    for k, v in headers.items():
        msg[k] = v
    msg.set_content(mail.text or "")
    if mail.html:
        msg.add_alternative(mail.html, subtype="html")
    return msg


class SmtpMailer:
    def __init__(self, host: str, port: int = 587, *, username: str | None = None, password: str | None = None,
                 sender: str = "datacollect <noreply@localhost>", security: str = "starttls",
                 timeout: float = 30.0) -> None:
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.sender = sender
        self.security = security
        self.timeout = timeout

    @classmethod
    def from_settings(cls, s: Any) -> SmtpMailer:
        return cls(s.smtp_host, s.smtp_port, username=s.smtp_username, password=s.smtp_password,
                   sender=s.smtp_from, security=s.smtp_security, timeout=s.smtp_timeout)

    def _connect(self) -> smtplib.SMTP:
        try:
            if self.security == "tls":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                      context=ssl.create_default_context())
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                conn.ehlo()
                if self.security == "starttls" and conn.has_extn("starttls"):
                    conn.starttls(context=ssl.create_default_context())
                    conn.ehlo()
            if self.username:
                conn.login(self.username, self.password or "")
            return conn
        except (OSError, smtplib.SMTPException) as exc:
            raise MailUnavailable(f"The mail server {self.host}:{self.port} could not be reached: {exc}") from exc

    def _send_one(self, conn: smtplib.SMTP, mail: Mail) -> str:
        msg = build_message(mail, self.sender)
        rcpts = [parseaddr(a)[1] for a in [*mail.to, *mail.cc, *mail.bcc]]
        try:
            refused = conn.send_message(msg, from_addr=parseaddr(self.sender)[1], to_addrs=rcpts)
        except smtplib.SMTPRecipientsRefused as exc:
            raise RecipientRefused({a: (c, m.decode("utf-8", "replace") if isinstance(m, bytes) else str(m))
                                    for a, (c, m) in exc.recipients.items()}) from None
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
            if 500 <= exc.smtp_code < 600:
                raise RecipientRefused({a: (exc.smtp_code, text) for a in rcpts}) from None
            raise MailUnavailable(f"The mail server answered {exc.smtp_code} {text}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise MailUnavailable(f"The mail could not be sent: {exc}") from exc
        if refused:
            log.warning("some recipients were refused: %s", refused)
        return str(msg["Message-ID"])

    def _send_batch(self, mails: list[Mail]) -> list[str | Exception]:
        out: list[str | Exception] = []
        conn: smtplib.SMTP | None = None
        try:
            for mail in mails:
                try:
                    if conn is None:
                        conn = self._connect()
                    out.append(self._send_one(conn, mail))
                except RecipientRefused as exc:
                    out.append(exc)
                    try:  # the transaction is left half-done by a refusal
                        if conn is not None:
                            conn.rset()
                    except (OSError, smtplib.SMTPException):
                        conn = None
                except MailUnavailable as exc:
                    out.append(exc)
                    if conn is not None:
                        try:
                            conn.close()
                        except Exception:
                            pass
                    conn = None
        finally:
            if conn is not None:
                try:
                    conn.quit()
                except (OSError, smtplib.SMTPException):
                    pass
        return out

    async def send(self, to: list[str], subject: str, text: str, html: str | None = None,
                   headers: dict[str, str] | None = None, cc: list[str] | None = None,
                   bcc: list[str] | None = None) -> str:
        [res] = await asyncio.to_thread(self._send_batch, [Mail(list(to), subject, text, html, dict(headers or {}),
                                                                list(cc or []), list(bcc or []))])
        if isinstance(res, Exception):
            raise res
        return res

    async def send_many(self, mails: list[Mail]) -> list[str | Exception]:
        """Send a batch over one connection; each result is a Message-ID or the error."""
        return await asyncio.to_thread(self._send_batch, mails)


class FolderMailer:
    """Writes each mail as an ``.eml`` file (the platform with no SMTP server configured)."""

    def __init__(self, folder: Path, sender: str = "datacollect <noreply@localhost>") -> None:
        self.folder = Path(folder)
        self.sender = sender

    async def send(self, to: list[str], subject: str, text: str, html: str | None = None,
                   headers: dict[str, str] | None = None, cc: list[str] | None = None,
                   bcc: list[str] | None = None) -> str:
        msg = build_message(Mail(list(to), subject, text, html, dict(headers or {}), list(cc or []),
                                 list(bcc or [])), self.sender)
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
        (self.folder / name).write_bytes(bytes(msg))
        log.info("no SMTP server configured: mail to %s kept as %s", ", ".join(to), self.folder / name)
        return str(msg["Message-ID"])

    async def send_many(self, mails: list[Mail]) -> list[str | Exception]:
        out: list[str | Exception] = []
        for m in mails:
            out.append(await self.send(m.to, m.subject, m.text, m.html, m.headers, m.cc, m.bcc))
        return out


class LedgerMailer:
    """Sends a mail with an ``Idempotency-Key`` header at most once per key, remembering sent
    keys through ``claim``/``done``/``release`` (the ``sent_mails`` table)."""

    def __init__(self, mailer: Any, claim: Callable[[str, list[str]], str | None],
                 done: Callable[[str, str], None], release: Callable[[str], None]) -> None:
        self.mailer = mailer
        self._claim, self._done, self._release = claim, done, release

    async def send(self, to: list[str], subject: str, text: str, html: str | None = None,
                   headers: dict[str, str] | None = None, cc: list[str] | None = None,
                   bcc: list[str] | None = None) -> str:
        key = (headers or {}).get("Idempotency-Key")
        if key:
            already = self._claim(key, list(to))
            if already:
                log.info("mail %s was sent before (%s); not sending it again", key, already)
                return already
        try:
            mid = await self.mailer.send(to, subject, text, html, headers, cc=cc, bcc=bcc)
        except Exception:
            if key:
                self._release(key)
            raise
        if key:
            self._done(key, mid)
        return str(mid)

    async def send_many(self, mails: list[Mail]) -> list[str | Exception]:
        return await self.mailer.send_many(mails)


def address(name: str | None, email: str) -> str:
    return formataddr((name, email)) if name else email


__all__ = ["SmtpMailer", "FolderMailer", "LedgerMailer", "Mail", "RecipientRefused", "MailUnavailable",
           "build_message", "address"]
