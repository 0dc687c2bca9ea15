"""The connector interface every ERP speaks through (SAP, NetSuite, Oracle; plugins too).

A connector sends records to one entity (SAP entity set, NetSuite record type, Oracle
resource) and finds the documents that already carry given external references::

    class MyErp(Connector):
        system = "MyERP"

        async def check(self) -> None: ...                            # raise Problem(stage, message)
        async def find(self, refs: list[str]) -> dict[str, Result]: ...  # documents holding these refs
        async def send(self, records: list[Record]) -> list[Result]: ...  # one Result per record, in order

Exactly once is the node's work, with the connector's help: every record carries its
**external reference** (``Record.ref``) into the ERP document, so before a record whose fate
is unknown is sent again (the ERP may have taken it: the answer was lost, or the worker died),
``find`` is asked whether the ERP has it already.

What a result says:

* ``status`` ``created`` / ``updated`` / ``exists`` (found by ``find``) with the document
  ``key``, or ``error``;
* an error with ``transient`` (5xx, 429, a change set the ERP rolled back): nothing was applied,
  sending again is safe;
* ``uncertain``: no usable answer, the ERP may or may not have applied it; look it up first.

A failure of the whole call that says something about the connection (401, 403, 404, DNS,
TLS, refused) is raised as :class:`~datacollect.integrations.netcheck.Problem`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from datacollect.integrations.connections import Resolved
from datacollect.integrations.netcheck import Problem, classify, ssl_context

EXCERPT = 500


@dataclass
class Record:
    index: int
    ref: str
    data: dict[str, Any]
    operation: str = "create"  # create | update | upsert
    key: Any = None  # the document key, for update


@dataclass
class Result:
    ref: str
    status: str  # created | updated | exists | error
    key: Any = None
    document: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    transient: bool = False
    uncertain: bool = False

    @property
    def ok(self) -> bool:
        return self.status != "error"


def failed(ref: str, message: str, *, transient: bool = False, uncertain: bool = False,
           **extra: Any) -> Result:
    return Result(ref, "error", error={"message": message, **{k: v for k, v in extra.items() if v is not None}},
                  transient=transient or uncertain, uncertain=uncertain)


def excerpt(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.strip()
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"


def json_or_none(content: bytes) -> Any:
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None


@dataclass
class Options:
    """What the node tells the connector besides the connection."""

    entity: str | None = None
    ref_field: str | None = None
    key_fields: list[str] = field(default_factory=list)
    timeout: float = 60.0
    batch_size: int = 50
    concurrency: int = 5


class Connector:
    system: ClassVar[str] = ""
    #: The connection kind this connector uses.
    kind: ClassVar[str] = ""

    def __init__(self, conn: Resolved, options: Options | None = None) -> None:
        self.conn = conn
        self.settings = conn.settings()
        self.options = options or Options()
        self._client: httpx.AsyncClient | None = None

    # -- to implement -------------------------------------------------------------------
    async def check(self) -> None:
        raise NotImplementedError

    async def find(self, refs: list[str]) -> dict[str, Result]:
        raise NotImplementedError

    async def send(self, records: list[Record]) -> list[Result]:
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------
    @property
    def entity(self) -> str:
        raise NotImplementedError

    @property
    def where(self) -> str:
        """How messages name the system (no secrets)."""
        return self.system

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            s = self.settings
            self._client = httpx.AsyncClient(
                verify=ssl_context(getattr(s, "verify_tls", True), getattr(s, "ca_cert", None)),
                timeout=httpx.Timeout(self.options.timeout, connect=min(10.0, self.options.timeout)),
                headers={"User-Agent": "datacollect"}, follow_redirects=False)
        return self._client

    async def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        """One HTTP call; a network failure is raised as a Problem naming its stage."""
        try:
            return await self.client().request(method, url, **kw)
        except httpx.HTTPError as e:
            raise classify(e, self.where) from None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> Connector:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    def hide(self, text: str) -> str:
        """``text`` with the connection's secrets replaced (for an ERP echoing a header back)."""
        for s in self.conn.secrets():
            if s and len(s) >= 4:
                text = text.replace(s, "***")
        return text


__all__ = ["Connector", "Options", "Problem", "Record", "Result", "excerpt", "failed", "json_or_none"]
