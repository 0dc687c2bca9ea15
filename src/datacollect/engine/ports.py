"""The small protocols through which the engine and the nodes reach the outside world.

``db/``, ``integrations/`` and the worker implement them; tests may hand in simple
in-memory versions. Nodes reach them through ``ctx.services``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol


class MappingStore(Protocol):
    """Named, reusable DataMapper mappings (``carbon_to_sap_v2``)."""

    def get_mapping(self, name: str) -> dict[str, Any] | None: ...


class HistoryStore(Protocol):
    """Earlier values of a field for one key (the same supplier's earlier figures), used by
    DataValidator's ``outlier_check``. ``scope`` keeps workflows apart."""

    def history(self, scope: str, key: str, field: str, limit: int = 20) -> list[float]: ...

    def record(self, scope: str, key: str, values: dict[str, float], ref: str) -> None: ...


class DataSources(Protocol):
    """Named data sources (``{{database.suppliers}}``): a saved list or query."""

    def names(self) -> list[str]: ...

    def rows(self, name: str) -> list[dict[str, Any]]: ...


class BlobStore(Protocol):
    async def put(self, key: str, chunks: AsyncIterator[bytes], content_type: str | None = None) -> dict[str, Any]: ...

    def open(self, key: str) -> AsyncIterator[bytes]: ...

    async def delete(self, key: str) -> None: ...


class Mailer(Protocol):
    async def send(self, to: list[str], subject: str, text: str, html: str | None = None,
                   headers: dict[str, str] | None = None) -> str: ...


class SubRuns(Protocol):
    """Starts runs of another workflow on behalf of a node (Loop), telling the engine to send
    the event ``notify`` with the child's result when it ends."""

    async def start_child(self, workflow_id: str, trigger: dict[str, Any], *, parent_run_id: str,
                          notify: str, idempotency_key: str) -> str: ...


class Connections(Protocol):
    """Stored connections (typed credentials), decrypted for the node that uses them
    (``datacollect.integrations.connections.ConnectionStore``)."""

    def get(self, connection_id: str, kind: str | tuple[str, ...] | None = None) -> Any: ...

    def only(self, kind: str) -> Any: ...


class ExportLedger(Protocol):
    """Where ERPExport keeps each record's external reference and fate, so a retried export
    never creates a second document (``datacollect.integrations.erp.ledger.SqlExportLedger``)."""

    def begin(self, target: dict[str, Any], entries: list[dict[str, Any]], window: float) -> dict[str, Any]: ...

    def finish(self, target: dict[str, Any], outcomes: list[dict[str, Any]]) -> None: ...


@dataclass
class Services:
    """Everything a node may use besides its config and items. Absent services are ``None``;
    a node that needs one raises a NodeError naming it."""

    mappings: MappingStore | None = None
    history: HistoryStore | None = None
    data_sources: DataSources | None = None
    blobs: BlobStore | None = None
    mailer: Mailer | None = None
    subruns: SubRuns | None = None
    forms: Any = None  # campaigns for SendForm (datacollect.forms.service.FormsService)
    connections: Connections | None = None
    exports: ExportLedger | None = None
    public_url: str = "http://127.0.0.1:8000"
    extra: dict[str, Any] = field(default_factory=dict)
