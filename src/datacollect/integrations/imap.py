"""IMAP for EmailTrigger: the mailbox client, a streaming MIME reader, the message ledger and
the poller that starts one run per matching message.

How a message is handled (each step safe to repeat)::

    search   UID SEARCH UNSEEN UNKEYWORD $Datacollect       (candidates)
    filter   sender / subject patterns on the fetched headers
    claim    email_messages (trigger, Message-ID) -> run id  (unique: one run per message)
    fetch    BODY.PEEK[]<offset.1MB> ... into a temporary file (never the whole message in memory)
    read     the MIME tree line by line; attachments decoded into temporary files
    store    attachments streamed into the blob store
    start    the run, with the deterministic run id of the claim
    mark     \\Seen $Datacollect (or MOVE to the processed folder), then the claim is done

A process that dies between two steps leaves a claim that the next poll finishes: a claim
without a run starts the run (same id), a run whose message is not marked yet gets its mark.
The blocking imaplib work runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import fnmatch
import hashlib
import imaplib
import logging
import os
import re
import secrets
import select as io_select
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from datacollect.db.integrations_models import EmailMessage
from datacollect.db.models import Workflow, WorkflowVersion
from datacollect.integrations.netcheck import Problem, classify, ssl_context

log = logging.getLogger("datacollect.email")

KEYWORD = "$Datacollect"
CHUNK = 1 << 20
LINE = 64 * 1024
MAX_TEXT = 1 << 20  # text bodies kept in the item, at most
BATCH = 50  # messages handled per poll and trigger


def _now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------------- client
@dataclass
class Envelope:
    uid: int
    size: int
    flags: str
    sender: str
    sender_name: str
    subject: str
    message_id: str | None
    date: str | None


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class MailboxClient:
    """A logged-in IMAP connection with one folder selected (blocking; run it in a thread)."""

    def __init__(self, settings: Any, folder: str) -> None:
        self.settings = settings
        self.folder = folder
        self.where = f"{settings.host}:{settings.port}"
        self.m: imaplib.IMAP4 | None = None
        self.uidvalidity = 0
        self.caps: set[str] = set()
        self.delimiter = "/"

    def open(self) -> MailboxClient:
        s = self.settings
        ctx = ssl_context(s.verify_tls, s.ca_cert)
        try:
            if s.security == "tls":
                m: imaplib.IMAP4 = imaplib.IMAP4_SSL(s.host, s.port, ssl_context=ctx, timeout=30)
            else:
                m = imaplib.IMAP4(s.host, s.port, timeout=30)
                if s.security == "starttls":
                    m.starttls(ssl_context=ctx)
        except (OSError, imaplib.IMAP4.error) as e:
            raise classify(e, self.where) from None
        try:
            m.login(s.username, s.password.get_secret_value())
        except imaplib.IMAP4.error as e:
            with contextlib.suppress(Exception):
                m.logout()
            raise Problem("auth", f"The IMAP server {self.where} refused the user name or password ({e}).") from None
        typ, data = m.select(_quote(self.folder))
        if typ != "OK":
            m.logout()
            raise Problem("not_found", f"The folder '{self.folder}' does not exist on {self.where}.")
        typ, data = m.response("UIDVALIDITY")
        self.uidvalidity = int(data[0]) if data and data[0] else 0
        typ, data = m.capability()  # the capabilities after login (MOVE, UIDPLUS...)
        self.caps = {c.upper() for c in (data[0] or b"").decode().split()} if typ == "OK" else set(m.capabilities)
        typ, data = m.list('""', '""')
        found = re.match(rb'\([^)]*\) "(.)"', data[0]) if typ == "OK" and data and data[0] else None
        self.delimiter = found.group(1).decode() if found else "/"
        self.m = m
        return self

    def close(self) -> None:
        if self.m is not None:
            with contextlib.suppress(Exception):
                self.m.close()
            with contextlib.suppress(Exception):
                self.m.logout()
            self.m = None

    def _ok(self, typ: str, data: Any, what: str) -> Any:
        if typ != "OK":
            raise Problem("protocol", f"The IMAP server {self.where} refused {what}: {data!r}")
        return data

    def search(self, unseen_only: bool) -> list[int]:
        assert self.m is not None
        criteria = ["UNSEEN"] if unseen_only else []
        criteria += ["UNKEYWORD", KEYWORD, "UNDELETED"]
        data = self._ok(*self.m.uid("SEARCH", *criteria), "the search")
        return [int(x) for x in (data[0] or b"").split()]

    def envelopes(self, uids: list[int]) -> list[Envelope]:
        assert self.m is not None
        if not uids:
            return []
        data = self._ok(*self.m.uid("FETCH", ",".join(map(str, uids)),
                                    "(UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT MESSAGE-ID DATE)])"),
                        "to send the headers")
        out: list[Envelope] = []
        parser = BytesHeaderParser(policy=policy.default)
        for row in data:
            if not isinstance(row, tuple):
                continue
            meta = row[0].decode("latin-1")
            uid = re.search(r"UID (\d+)", meta)
            size = re.search(r"RFC822\.SIZE (\d+)", meta)
            flags = re.search(r"FLAGS \(([^)]*)\)", meta)
            if not uid:
                continue
            h = parser.parsebytes(row[1])
            name, addr = parseaddr(str(h.get("From", "")))
            out.append(Envelope(int(uid.group(1)), int(size.group(1)) if size else 0, flags.group(1) if flags else "",
                                addr.lower(), name, str(h.get("Subject", "") or ""),
                                str(h.get("Message-ID", "")).strip() or None, str(h.get("Date", "")) or None))
        return sorted(out, key=lambda e: e.uid)

    def download(self, uid: int, size: int, dest: Path) -> int:
        """The whole message into ``dest``, one MB at a time; answers its size."""
        assert self.m is not None
        offset = 0
        with open(dest, "wb") as f:
            while True:
                data = self._ok(*self.m.uid("FETCH", str(uid), f"(BODY.PEEK[]<{offset}.{CHUNK}>)"),
                                "to send the message")
                chunk = next((row[1] for row in data if isinstance(row, tuple)), None)
                if chunk is None:
                    if offset == 0:
                        raise Problem("protocol", f"The message {uid} is gone from {self.folder}.")
                    break
                f.write(chunk)
                offset += len(chunk)
                if len(chunk) < CHUNK:
                    break
        return offset

    def idle(self, seconds: float, stop: threading.Event) -> str:
        """IMAP IDLE: wait until the folder changes (``"changed"``), ``seconds`` pass or ``stop``
        is set (``"timeout"``); ``"unsupported"`` at once when the server has no IDLE."""
        assert self.m is not None
        if "IDLE" not in self.caps:
            return "unsupported"
        m = self.m
        tag = f"DCI{secrets.randbelow(10**6)}".encode()
        m.send(tag + b" IDLE\r\n")
        line = m.readline()
        if not line.startswith(b"+"):
            while line and not line.startswith(tag):
                line = m.readline()
            return "unsupported"
        sock = m.sock
        result = "timeout"
        deadline = time.monotonic() + seconds
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                pending = getattr(sock, "pending", lambda: 0)()
                if not pending and not io_select.select([sock], [], [], 1.0)[0]:
                    continue
                line = m.readline()
                if not line:
                    raise Problem("connect", f"The IMAP server {self.where} closed the connection while idling.",
                                  transient=True)
                if line.startswith(b"*") and (b"EXISTS" in line or b"RECENT" in line):
                    result = "changed"
                    break
        finally:
            m.send(b"DONE\r\n")
            while True:
                line = m.readline()
                if not line or line.startswith(tag):
                    break
        return result

    def mark(self, uid: int, move_to: str | None) -> None:
        assert self.m is not None
        self._ok(*self.m.uid("STORE", str(uid), "+FLAGS", f"(\\Seen {KEYWORD})"), "to mark the message")
        if not move_to:
            return
        move_to = move_to.replace("/", self.delimiter)  # "Processed/Figures" in the server's hierarchy
        typ, _ = self.m.create(_quote(move_to))  # NO when it exists already
        caps = self.caps
        if "MOVE" in caps:
            self._ok(*self.m.uid("MOVE", str(uid), _quote(move_to)), f"to move the message to {move_to}")
            return
        self._ok(*self.m.uid("COPY", str(uid), _quote(move_to)), f"to copy the message to {move_to}")
        self._ok(*self.m.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)"), "to remove the moved message")
        if "UIDPLUS" in caps:
            self.m.uid("EXPUNGE", str(uid))
        else:
            self.m.expunge()


# ------------------------------------------------------------------------ MIME, streamed
@dataclass
class Part:
    name: str
    content_type: str
    path: Path | None
    size: int = 0
    sha256: str = ""
    error: str | None = None


@dataclass
class Parsed:
    headers: Any
    text: str = ""
    html: str = ""
    attachments: list[Part] = field(default_factory=list)


class _Decoder:
    """Decodes a transfer encoding line by line."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding.lower().strip()
        self.rest = b""

    def feed(self, line: bytes) -> bytes:
        if self.encoding == "base64":
            data = self.rest + re.sub(rb"[^A-Za-z0-9+/=]", b"", line)
            cut = len(data) - len(data) % 4
            self.rest = data[cut:]
            try:
                return binascii.a2b_base64(data[:cut]) if cut else b""
            except binascii.Error:
                return b""
        if self.encoding == "quoted-printable":
            if line.endswith((b"=\r\n", b"=\n")):
                return binascii.a2b_qp(line.rstrip(b"\r\n")[:-1])
            return binascii.a2b_qp(line.rstrip(b"\r\n")) + (b"\n" if line.endswith(b"\n") else b"")
        return line

    def end(self) -> bytes:
        if self.encoding == "base64" and self.rest:
            padded = self.rest + b"=" * (-len(self.rest) % 4)
            with contextlib.suppress(binascii.Error):
                return binascii.a2b_base64(padded)
        return b""


def _safe_name(name: str) -> str:
    base = os.path.basename(name.replace("\\", "/")).strip() or "attachment"
    return base[:200]


class MimeReader:
    """Reads a message from a file, line by line, keeping no more than a line and the text
    bodies in memory; attachments are decoded into files under ``folder``. An attachment over
    ``max_bytes`` is read past and reported with an error."""

    def __init__(self, f: BinaryIO, folder: Path, max_bytes: int, keep_files: bool = True) -> None:
        self.f = f
        self.folder = folder
        self.max_bytes = max_bytes
        self.keep_files = keep_files
        self.parser = BytesHeaderParser(policy=policy.default)
        self.n = 0
        self.parsed: Parsed | None = None
        self.pending = b""  # a line read ahead (a boundary found while reading a part)

    def _readline(self) -> bytes:
        if self.pending:
            line, self.pending = self.pending, b""
            return line
        return self.f.readline(LINE)

    def _headers(self) -> Any:
        raw = bytearray()
        while True:
            line = self._readline()
            if not line or line in (b"\r\n", b"\n"):
                break
            raw += line
            if len(raw) > 1 << 20:  # a header block this large is not mail
                break
        return self.parser.parsebytes(bytes(raw))

    def read(self) -> Parsed:
        top = self._headers()
        self.parsed = Parsed(headers=top)
        self._entity(top, [])
        return self.parsed

    @staticmethod
    def _is_boundary(line: bytes, boundaries: list[bytes]) -> bytes | None:
        if not line.startswith(b"--"):
            return None
        stripped = line.rstrip(b"\r\n \t")
        for b in reversed(boundaries):
            if stripped == b"--" + b or stripped == b"--" + b + b"--":
                return stripped
        return None

    def _entity(self, headers: Any, boundaries: list[bytes]) -> bytes | None:
        """Read one entity's body; answers the boundary line that ended it (None at the end)."""
        boundary = headers.get_param("boundary") if headers.get_content_maintype() == "multipart" else None
        if not boundary:
            return self._leaf(headers, boundaries)
        inner = [*boundaries, str(boundary).encode()]
        delim = b"--" + inner[-1]
        line = self._until(inner)  # past the preamble
        while line is not None:
            if line == delim:
                line = self._entity(self._headers(), inner)
            elif line == delim + b"--":  # the end of this multipart: past its epilogue
                return self._until(boundaries) if boundaries else self._drain()
            else:
                return line  # an outer boundary ended this multipart early
        return None

    def _until(self, boundaries: list[bytes]) -> bytes | None:
        while True:
            line = self._readline()
            if not line:
                return None
            found = self._is_boundary(line, boundaries)
            if found is not None:
                return found

    def _drain(self) -> None:
        while self._readline():
            pass
        return None

    def _leaf(self, headers: Any, boundaries: list[bytes]) -> bytes | None:
        assert self.parsed is not None
        ctype = headers.get_content_type()
        disposition = (headers.get_content_disposition() or "").lower()
        filename = headers.get_filename()
        is_text = ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename
        decoder = _Decoder(str(headers.get("Content-Transfer-Encoding", "7bit")))
        if is_text:
            buf = bytearray()

            def sink(data: bytes) -> None:
                if len(buf) < MAX_TEXT:
                    buf.extend(data[:MAX_TEXT - len(buf)])
        else:
            self.n += 1
            name = _safe_name(filename or (f"message-{self.n}.eml" if ctype == "message/rfc822" else f"part-{self.n}"))
            part = Part(name, ctype, self.folder / f"{self.n:03d}.bin" if self.keep_files else None)
            self.parsed.attachments.append(part)
            out = open(part.path, "wb") if part.path else None  # noqa: SIM115 - closed below
            digest = hashlib.sha256()

            def sink(data: bytes) -> None:
                part.size += len(data)
                if part.size > self.max_bytes:
                    if part.error is None:
                        part.error = (f"The attachment {part.name} is larger than the limit of "
                                      f"{self.max_bytes / (1 << 20):g} MB (max_attachment_mb); it was not stored.")
                    return
                digest.update(data)
                if out is not None:
                    out.write(data)
        held = b""
        ended: bytes | None = None
        while True:
            line = self._readline()
            if not line:
                break
            found = self._is_boundary(line, boundaries)
            if found is not None:
                ended = found
                break
            if held:
                sink(decoder.feed(held))
            held = line
        if held:  # the line break before a boundary belongs to the boundary
            sink(decoder.feed(held.rstrip(b"\r\n") if ended is not None else held))
        sink(decoder.end())
        if is_text:
            charset = headers.get_content_charset() or "utf-8"
            try:
                text = bytes(buf).decode(charset, "replace")
            except LookupError:
                text = bytes(buf).decode("utf-8", "replace")
            text = text.replace("\r\n", "\n")
            if ctype == "text/plain" and not self.parsed.text:
                self.parsed.text = text
            elif ctype == "text/html" and not self.parsed.html:
                self.parsed.html = text
        else:
            if out is not None:
                out.close()
            if part.error is None:
                part.sha256 = digest.hexdigest()
            elif part.path is not None:
                part.path.unlink(missing_ok=True)
                part.path = None
            part.size = max(part.size, 0)
        return ended


def read_message(path: Path, folder: Path, max_attachment_bytes: int, attachments: bool = True) -> Parsed:
    with open(path, "rb") as f:
        return MimeReader(f, folder, max_attachment_bytes, keep_files=attachments).read()


def matches(pattern: str | None, value: str) -> bool:
    if not pattern:
        return True
    if len(pattern) > 2 and pattern.startswith("/") and pattern.endswith("/"):
        return re.search(pattern[1:-1], value, re.I) is not None
    return fnmatch.fnmatch(value.lower(), pattern.lower())


# ------------------------------------------------------------------------------ ledger
class MessageLedger:
    """``email_messages``: which message started which run (one row per trigger and message)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def claim(self, trigger: str, key: str, folder: str, uidvalidity: int, uid: int, run_id: str,
              sender: str, subject: str) -> str:
        """``new`` (claimed now), or the status of the earlier claim: ``claimed`` (no run yet),
        ``started`` (run started, message not marked yet), ``done``."""
        now = _now()
        try:
            with self.db.write() as s:
                s.add(EmailMessage(trigger=trigger, message_key=key[:500], folder=folder[:200],
                                   uidvalidity=uidvalidity, uid=uid, status="claimed", run_id=run_id,
                                   sender=sender[:320], subject=subject[:500], created_at=now, updated_at=now))
            return "new"
        except IntegrityError:
            with self.db.session() as s:
                row = s.scalar(select(EmailMessage).where(EmailMessage.trigger == trigger,
                                                          EmailMessage.message_key == key[:500]))
                return row.status if row is not None else "claimed"

    def run_id(self, trigger: str, key: str) -> str | None:
        with self.db.session() as s:
            row = s.scalar(select(EmailMessage).where(EmailMessage.trigger == trigger,
                                                      EmailMessage.message_key == key[:500]))
            return row.run_id if row is not None else None

    def set(self, trigger: str, key: str, status: str, error: str | None = None) -> None:
        with self.db.write() as s:
            row = s.scalar(select(EmailMessage).where(EmailMessage.trigger == trigger,
                                                      EmailMessage.message_key == key[:500]))
            if row is not None:
                row.status, row.error, row.updated_at = status, error, _now()

    def rows(self, trigger: str) -> list[dict[str, Any]]:
        with self.db.session() as s:
            return [{"key": r.message_key, "status": r.status, "run_id": r.run_id, "error": r.error,
                     "sender": r.sender, "subject": r.subject}
                    for r in s.scalars(select(EmailMessage).where(EmailMessage.trigger == trigger)
                                       .order_by(EmailMessage.id))]


# ------------------------------------------------------------------------------ poller
@dataclass
class Trigger:
    workflow_id: str
    node_id: str
    config: Any  # EmailTrigger.Config

    @property
    def key(self) -> str:
        return f"{self.workflow_id}/{self.node_id}"


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    f = await asyncio.to_thread(open, path, "rb")
    try:
        while True:
            chunk = await asyncio.to_thread(f.read, CHUNK)
            if not chunk:
                break
            yield chunk
    finally:
        f.close()


def _blob_key(trigger: Trigger, message_key: str, n: int, name: str) -> str:
    digest = hashlib.sha256(f"{trigger.key}/{message_key}".encode()).hexdigest()[:32]
    safe = re.sub(r"[^A-Za-z0-9._=-]+", "_", name).strip("._-")[:80] or "attachment"
    return f"email/{digest}/{n:03d}-{safe}"


class EmailPoller:
    """Finds the active workflows with an EmailTrigger and polls their mailboxes when due.
    ``tick`` (the scheduler's hook) starts due polls in the background and never waits."""

    REFRESH = 2.0

    def __init__(self, db: Any, runner: Any, services: Any, connections: Any) -> None:
        self.db = db
        self.runner = runner
        self.services = services
        self.connections = connections
        self.ledger = MessageLedger(db)
        self.triggers: dict[str, Trigger] = {}
        self.next_poll: dict[str, float] = {}
        self.tasks: dict[str, asyncio.Task[Any]] = {}
        self.stops: dict[str, threading.Event] = {}  # the IDLE watchers' stop signals
        self.last: dict[str, dict[str, Any]] = {}  # per trigger: when, handled, error
        self._stamp: Any = None
        self._refreshed = 0.0

    def refresh(self) -> None:
        from datacollect.nodes.email_trigger import EmailTrigger

        if time.monotonic() - self._refreshed < self.REFRESH:
            return
        self._refreshed = time.monotonic()
        with self.db.session() as s:
            stamp = tuple(s.execute(select(func.count(), func.max(Workflow.updated_at))).one())
            if stamp == self._stamp:
                return
            q = (select(Workflow.id, WorkflowVersion.definition)
                 .join(WorkflowVersion, (WorkflowVersion.workflow_id == Workflow.id)
                       & (WorkflowVersion.version == Workflow.current_version))
                 .where(Workflow.active.is_(True)))
            found: dict[str, Trigger] = {}
            for wid, definition in s.execute(q):
                for n in (definition or {}).get("nodes", []):
                    if n.get("type") == "EmailTrigger" and not n.get("disabled"):
                        try:
                            cfg = EmailTrigger.Config.model_validate(n.get("config") or {})
                        except Exception:
                            continue
                        t = Trigger(wid, n["id"], cfg)
                        found[t.key] = t
        self._stamp = stamp
        self.triggers = found

    async def tick(self) -> None:
        self.refresh()
        now = time.monotonic()
        for key in [k for k in self.stops if k not in self.triggers]:  # deactivated: stop watching
            self.stops.pop(key).set()
        for key, t in self.triggers.items():
            task = self.tasks.get(key)
            if task is not None and not task.done():
                continue
            if t.config.watch == "idle":
                stop = self.stops[key] = threading.Event()
                self.tasks[key] = asyncio.get_running_loop().create_task(self.watch(key, stop))
                continue
            if now < self.next_poll.get(key, 0):
                continue
            self.next_poll[key] = now + t.config.poll_seconds
            self.tasks[key] = asyncio.get_running_loop().create_task(self.poll(t))

    async def watch(self, key: str, stop: threading.Event) -> None:
        """``watch: idle``: poll, then wait on IMAP IDLE until something arrives (or
        ``poll_seconds`` pass), and again, while the trigger is active and unchanged."""
        first = self.triggers.get(key)
        while not stop.is_set():
            trigger = self.triggers.get(key)
            if trigger is None or trigger.config != (first.config if first else None):
                return  # removed or changed: the next tick starts what the new config wants
            await self.poll(trigger)
            seconds = min(trigger.config.poll_seconds, 25 * 60)  # servers end an IDLE after 30 min
            try:
                result = await asyncio.to_thread(self._idle_once, trigger, seconds, stop)
            except Exception as e:
                message = e.message if isinstance(e, Problem) else f"{type(e).__name__}: {e}"
                log.warning("email trigger %s: waiting for mail failed: %s", key, message)
                result = "unsupported"
            if result == "unsupported":
                await asyncio.sleep(trigger.config.poll_seconds)

    def _idle_once(self, trigger: Trigger, seconds: float, stop: threading.Event) -> str:
        cfg = trigger.config
        conn = self.connections.get(cfg.connection, "imap") if cfg.connection else self.connections.only("imap")
        settings = conn.settings()
        client = MailboxClient(settings, cfg.folder or settings.folder).open()
        try:
            return client.idle(seconds, stop)
        finally:
            client.close()

    async def wait_idle(self, timeout: float = 30) -> None:
        pending = [t for t in self.tasks.values() if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    async def stop(self) -> None:
        for ev in self.stops.values():
            ev.set()
        for t in self.tasks.values():
            t.cancel()
        for t in self.tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self.tasks.clear()

    async def poll(self, trigger: Trigger) -> int:
        """Handle the new messages of one trigger's mailbox; answers how many started runs."""
        handled = 0
        try:
            cfg = trigger.config
            conn = self.connections.get(cfg.connection, "imap") if cfg.connection else self.connections.only("imap")
            settings = conn.settings()
            folder = cfg.folder or settings.folder
            client = await asyncio.to_thread(MailboxClient(settings, folder).open)
            try:
                uids = await asyncio.to_thread(client.search, cfg.unseen_only)
                envelopes = await asyncio.to_thread(client.envelopes, uids[:BATCH * 4])
                for env in envelopes:
                    if handled >= BATCH:
                        break
                    if not (matches(cfg.from_filter, env.sender) or matches(cfg.from_filter, env.sender_name)):
                        continue
                    if not matches(cfg.subject_filter, env.subject):
                        continue
                    if await self._handle(trigger, conn.id, client, folder, env):
                        handled += 1
            finally:
                await asyncio.to_thread(client.close)
            self.last[trigger.key] = {"at": _now().isoformat(), "handled": handled, "error": None}
        except asyncio.CancelledError:
            raise
        except Exception as e:
            message = e.message if isinstance(e, Problem) else getattr(e, "message", None) or f"{type(e).__name__}: {e}"
            log.error("email trigger %s: %s", trigger.key, message)
            self.last[trigger.key] = {"at": _now().isoformat(), "handled": handled, "error": message}
        return handled

    async def _handle(self, trigger: Trigger, connection_id: str, client: MailboxClient, folder: str,
                      env: Envelope) -> bool:
        cfg = trigger.config
        key = env.message_id or f"uid:{folder}:{client.uidvalidity}:{env.uid}"
        run_id = uuid.uuid5(uuid.NAMESPACE_URL, f"datacollect-email/{trigger.key}/{key}").hex
        state = await asyncio.to_thread(self.ledger.claim, trigger.key, key, folder, client.uidvalidity, env.uid,
                                        run_id, env.sender, env.subject)
        if state in ("started", "done"):  # handled before: the mark was lost (a restart, a second copy)
            await asyncio.to_thread(client.mark, env.uid, cfg.move_to if cfg.after == "move" else None)
            if state == "started":
                await asyncio.to_thread(self.ledger.set, trigger.key, key, "done")
            return False
        if state == "claimed":
            run_id = await asyncio.to_thread(self.ledger.run_id, trigger.key, key) or run_id
        try:
            item = await self._item(trigger, connection_id, client, folder, env, key)
        except Exception as e:
            from datacollect.integrations.s3 import blob_error

            message = blob_error(e, self.services.blobs) or getattr(e, "message", None) or f"{type(e).__name__}: {e}"
            await asyncio.to_thread(self.ledger.set, trigger.key, key, "claimed", message)
            raise Problem("server", f"The message '{env.subject}' from {env.sender} could not be taken: {message}. "
                                    "It stays in the mailbox and is tried again at the next poll.") from None
        with self.runner.store.transaction() as tx:
            exists = tx.get_run(run_id) is not None
        if not exists:
            await self.runner.start_run(trigger.workflow_id, [item], trigger_node=trigger.node_id, mode="email",
                                        run_id=run_id, require_active=True, drive=False)
        await asyncio.to_thread(self.ledger.set, trigger.key, key, "started")
        await asyncio.to_thread(client.mark, env.uid, cfg.move_to if cfg.after == "move" else None)
        await asyncio.to_thread(self.ledger.set, trigger.key, key, "done")
        return True

    async def _item(self, trigger: Trigger, connection_id: str, client: MailboxClient, folder: str, env: Envelope,
                    key: str) -> dict[str, Any]:
        cfg = trigger.config
        item: dict[str, Any] = {"from": env.sender, "from_name": env.sender_name, "to": [], "subject": env.subject,
                                "date": None, "message_id": env.message_id, "text": "", "attachments": [],
                                "mailbox": {"connection": connection_id, "folder": folder, "uid": env.uid}}
        if env.date:
            with contextlib.suppress(Exception):
                item["date"] = parsedate_to_datetime(env.date).isoformat()
        max_message = int(cfg.max_message_mb * (1 << 20))
        if env.size > max_message:
            item["error"] = (f"The message is {env.size / (1 << 20):.1f} MB, larger than the limit of "
                             f"{cfg.max_message_mb:g} MB (max_message_mb); it was not downloaded.")
            return item
        folder_tmp = Path(tempfile.mkdtemp(prefix="datacollect-mail-"))
        try:
            raw = folder_tmp / "message.eml"
            await asyncio.to_thread(client.download, env.uid, env.size, raw)
            parsed = await asyncio.to_thread(read_message, raw, folder_tmp, int(cfg.max_attachment_mb * (1 << 20)),
                                             cfg.attachments)
            raw.unlink(missing_ok=True)
            h = parsed.headers
            item["to"] = [a for _, a in getaddresses([str(v) for v in h.get_all("To", [])]) if a]
            cc = [a for _, a in getaddresses([str(v) for v in h.get_all("Cc", [])]) if a]
            if cc:
                item["cc"] = cc
            item["text"] = parsed.text
            if parsed.html:
                item["html"] = parsed.html
            if cfg.attachments:
                blobs = self.services.blobs
                for n, part in enumerate(parsed.attachments, 1):
                    entry: dict[str, Any] = {"name": part.name, "content_type": part.content_type, "size": part.size}
                    if part.error:
                        entry["error"] = part.error
                    elif part.path is not None:
                        if blobs is None:
                            raise Problem("config", "No file store is configured for the attachments")
                        ref = await blobs.put(_blob_key(trigger, key, n, part.name), _file_chunks(part.path),
                                              part.content_type)
                        entry.update(key=ref["key"], sha256=ref["sha256"], size=ref["size"])
                    item["attachments"].append(entry)
            return item
        finally:
            await asyncio.to_thread(shutil.rmtree, folder_tmp, True)
