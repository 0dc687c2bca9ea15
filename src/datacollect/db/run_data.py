"""Large run data in the blob store (DESIGN §13): an activation's ``input``, ``output`` or
``state`` larger than ``run_data_blob_bytes`` (JSON) is written to the blob store, and its row
holds a reference ``{"$blob": "run-data/<activation id>/<column>.<n>.json", "bytes": n}``
instead. The database stays small however large the items a node passes on (a bulk import's
rows, a campaign's answers), as n8n's does not.

* Writes go through the engine's store (``db.store.SqlTx``), which asks ``Writes.offload`` per
  value. Each write has a key of its own; once the transaction commits, the blob a row held
  before is deleted, and if it rolls back, the blobs it wrote are (so a compare-and-set that
  lost never changes what the winner's row points to).
* Reads need nothing of the caller: the columns' type (``RunDataJSON``) reads a reference back
  from the blob store, for the engine, the API and exports alike.
* The blobs go with their rows: retention (deleting runs, removing their node data) deletes an
  activation's folder; GDPR erasure rewrites them (``security/privacy.py``).

The store is attached to the database's engine (``attach``), so every reader of the same
engine finds it; without one, values stay in the row. Blob reads and writes are synchronous:
they run inside the engine's transactions, which cannot await; a folder or an S3 store on a
fast network answers in milliseconds, and only large values pay it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import Text, cast, or_, select

from datacollect.db.types import JSONText, dumps
from datacollect.errors import NotFound

REF = "$blob"
COLUMNS = ("input", "output", "state")
_ATTR = "datacollect_run_data"


def is_ref(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 2 and REF in value and "bytes" in value


class RunData:
    def __init__(self, blobs: Any, threshold: int) -> None:
        self.blobs = blobs
        self.threshold = threshold

    @staticmethod
    def folder(act_id: str) -> str:
        return f"run-data/{act_id}/"

    def put(self, act_id: str, column: str, value: Any) -> dict[str, Any] | None:
        """Write ``value`` to a blob of its own when it is too large for the row: answers the
        reference the row keeps, or None (the value stays in the row)."""
        if value is None or self.threshold <= 0 or is_ref(value):
            return None
        data = dumps(value).encode()
        if len(data) <= self.threshold:
            return None
        key = f"{self.folder(act_id)}{column}.{uuid.uuid4().hex[:12]}.json"
        self.blobs.write_bytes(key, data)
        return {REF: key, "bytes": len(data)}

    def load(self, ref: dict[str, Any]) -> Any:
        try:
            return orjson.loads(self.blobs.read_bytes(ref[REF]))
        except NotFound:
            raise NotFound(f"The run data at '{ref[REF]}' is no longer in the blob store") from None

    def delete_keys(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.blobs.delete_now(key)

    def delete_activations(self, act_ids: Iterable[str]) -> None:
        for act_id in act_ids:
            self.blobs.delete_prefix_now(self.folder(act_id))

    @staticmethod
    def holders(conn: Any, table: Any, *where: Any) -> list[str]:
        """The ids of the activations matching ``where`` that keep run data in the blob store
        (read before their rows change, so their blobs can go once that is committed)."""
        return list(conn.scalars(select(table.c.id).where(*where, has_ref(table))))


class Writes:
    """The blobs one transaction writes and replaces: ``commit`` deletes the replaced ones,
    ``rollback`` the written ones."""

    def __init__(self, store: RunData, conn: Any, table: Any) -> None:
        self.store = store
        self.conn = conn
        self.table = table  # activations
        self.written: list[str] = []
        self.replaced: list[str] = []
        self.dropped: list[str] = []  # activations deleted: their folders

    def offload(self, act_id: str, column: str, value: Any, *, new: bool = False) -> Any:
        ref = self.store.put(act_id, column, value)
        if ref is None:
            return value
        self.written.append(ref[REF])
        if not new:  # the blob the row holds now, if any, goes once this is committed
            t = self.table
            old = self.conn.execute(select(cast(t.c[column], Text)).where(t.c.id == act_id)).scalar()
            key = ref_key(old)
            if key:
                self.replaced.append(key)
        return ref

    def offload_row(self, row: dict[str, Any]) -> dict[str, Any]:
        out = row
        for c in COLUMNS:
            v = row.get(c)
            if v is not None:
                kept = self.offload(row["id"], c, v, new=True)
                if kept is not v:
                    out = out if out is not row else dict(row)
                    out[c] = kept
        return out

    def commit(self) -> None:
        self.store.delete_keys(self.replaced)
        self.store.delete_activations(self.dropped)

    def rollback(self) -> None:
        self.store.delete_keys(self.written)


def ref_key(text: Any) -> str | None:
    """The blob key of a reference stored as JSON text (or already decoded), else None."""
    if isinstance(text, str) and REF in text:
        try:
            text = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
    return text[REF] if is_ref(text) else None


def attach(engine: Any, run_data: RunData | None) -> None:
    setattr(engine.dialect, _ATTR, run_data)


def attached(bind: Any) -> RunData | None:
    """The run data store of an engine, a connection or a dialect, if one is attached."""
    dialect = getattr(bind, "dialect", bind)
    return getattr(dialect, _ATTR, None)


def has_ref(table: Any) -> Any:
    """Rows whose run data is (at least partly) in the blob store, found by their text."""
    return or_(*(cast(table.c[c], Text).contains(f'"{REF}"', autoescape=True) for c in COLUMNS))


class RunDataJSON(JSONText):
    """``JSONText`` whose references to the blob store read back as the values they stand for."""

    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        value = super().process_result_value(value, dialect)
        if is_ref(value):
            store = attached(dialect)
            if store is not None:
                return store.load(value)
        return value


__all__ = ["COLUMNS", "REF", "RunData", "RunDataJSON", "Writes", "attach", "attached", "has_ref", "is_ref",
           "ref_key"]
