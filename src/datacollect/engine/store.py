"""What the runner needs from persistence, as a protocol (``db/store.py`` implements it).

All methods are synchronous and run inside one transaction (``with store.transaction() as tx``);
leaving the block commits. Rows are plain dicts with the columns of the ``runs`` and
``activations`` tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

Row = dict[str, Any]


class StoreTx(Protocol):
    def workflow_version(self, workflow_id: str, version: int | None = None) -> Row | None:
        """``{"workflow_id", "version_id", "version", "definition", "active"}``"""

    def version_by_id(self, version_id: int) -> Row | None: ...

    def insert_run(self, row: Row) -> None: ...

    def get_run(self, run_id: str, lock: bool = False) -> Row | None: ...

    def update_run(self, run_id: str, values: Row, expect_status: Iterable[str] | None = None) -> bool: ...

    def insert_activations(self, rows: list[Row]) -> None: ...

    def update_activation(self, act_id: str, values: Row, expect: Row | None = None) -> bool: ...

    def delete_activations(self, ids: list[str]) -> None: ...

    def get_activation(self, act_id: str) -> Row | None: ...

    def find_activations(self, run_id: str, node_ids: Iterable[str] | None = None,
                         lanes: Iterable[str] | None = None) -> list[Row]: ...

    def pending_below(self, run_id: str, node_id: str, lane: str) -> list[Row]: ...

    def open_counts(self, run_id: str) -> dict[str, int]: ...

    def lease(self, ids: list[str], token: str, until: datetime, now: datetime) -> list[Row]: ...

    def take_waiting(self, key: str, event: Any, token: str, until: datetime, now: datetime,
                     limit: int = 1000) -> list[Row]:
        """Lease the activations waiting for ``key`` to ``token`` (running, with ``event``)."""

    def due(self, now: datetime, limit: int) -> list[Row]:
        """Waiting activations whose timer is due, ready ones whose backoff is over, and
        running ones whose lease expired."""

    def ready_ids(self, now: datetime, limit: int) -> list[str]: ...

    def waiting_for(self, key: str, limit: int = 1000) -> list[Row]: ...

    def lock_key(self, key: str) -> None: ...

    def keep_event(self, key: str, payload: Any, now: datetime) -> None: ...

    def take_event(self, key: str) -> Row | None: ...

    def take_slot(self, key: str, holder: str, limit: int, until: datetime, now: datetime) -> bool:
        """Take (or keep) a slot of the concurrency limit ``key`` while fewer than ``limit``
        holders have one; slots past their ``until`` are free."""

    def free_slot(self, key: str, holder: str) -> None: ...

    def renew_slots(self, holders: list[str], until: datetime) -> None: ...


class Store(Protocol):
    def transaction(self) -> AbstractContextManager[StoreTx]: ...
