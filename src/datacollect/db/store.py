"""The engine's Store on SQLAlchemy Core (SQLite and PostgreSQL).

Hot path: a run segment is one transaction of a few statements; activations are inserted
with executemany. Leases are compare-and-set updates (``UPDATE ... WHERE status='ready'``);
on PostgreSQL the run row is locked with ``FOR UPDATE`` while a segment is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, or_, select, update

from datacollect.db.limits_models import ConcurrencySlot
from datacollect.db.models import Activation, PendingEvent, Run, Workflow, WorkflowVersion
from datacollect.db.run_data import COLUMNS, RunData, Writes, attached
from datacollect.db.session import Database
from datacollect.engine.store import Row

A = Activation.__table__
R = Run.__table__
W = Workflow.__table__
V = WorkflowVersion.__table__
E = PendingEvent.__table__
L = ConcurrencySlot.__table__
OPEN = ("pending", "ready", "running", "waiting")

# Statements built once and reused: SQLAlchemy then skips building and keying them per call.
_INSERT_RUN = insert(R)
_INSERT_ACTS = insert(A)
_GET_RUN = select(R).where(R.c.id == bindparam("_id"))
_GET_RUN_LOCKED = _GET_RUN.with_for_update()
_RUN_ACTS = select(A).where(A.c.run_id == bindparam("_run"))
_COUNT_UPTO = select(func.count()).select_from(
    select(A.c.status).where(A.c.run_id == bindparam("_run")).limit(bindparam("_n")).subquery())
_TAKE_WAITING = (
    update(A).where(A.c.id.in_(select(A.c.id).where(A.c.wait_for == bindparam("_key"), A.c.status == "waiting")
                               .limit(bindparam("_n")).scalar_subquery()), A.c.status == "waiting")
    .values(status="running", event=bindparam("event"), wake_at=None, wait_for=None,
            leased_by=bindparam("leased_by"), lease_until=bindparam("lease_until"), attempts=A.c.attempts + 1,
            started_at=func.coalesce(A.c.started_at, bindparam("_now", type_=A.c.started_at.type)))
    .returning(*A.c))
_RUN_DATA = frozenset(COLUMNS)
_UPDATES: dict[tuple[frozenset[str], tuple[tuple[str, bool], ...]], Any] = {}
_RUN_UPDATES: dict[frozenset[str], Any] = {}


def _update_activation_stmt(keys: frozenset[str], expect: tuple[tuple[str, bool], ...]) -> Any:
    stmt = _UPDATES.get((keys, expect))
    if stmt is None:
        q = update(A).where(A.c.id == bindparam("_id"))
        for k, is_null in expect:
            q = q.where(A.c[k].is_(None) if is_null else A.c[k] == bindparam(f"_x_{k}"))
        stmt = q.values({k: bindparam(k) for k in keys})
        _UPDATES[(keys, expect)] = stmt
    return stmt


class SqlTx:
    def __init__(self, conn: Connection, pg: bool, run_data: RunData | None = None) -> None:
        self.c = conn
        self.pg = pg
        #: large inputs, outputs and states go to the blob store (db/run_data.py)
        self.blobs = Writes(run_data, conn, A) if run_data is not None else None

    # workflows
    def workflow_version(self, workflow_id: str, version: int | None = None) -> Row | None:
        w = self.c.execute(select(W.c.active, W.c.current_version).where(W.c.id == workflow_id)).first()
        if w is None:
            return None
        v = self.c.execute(select(V.c.id, V.c.version).where(
            V.c.workflow_id == workflow_id, V.c.version == (version or w.current_version))).first()
        if v is None:
            return None
        return {"workflow_id": workflow_id, "version_id": v.id, "version": v.version, "active": w.active}

    def version_by_id(self, version_id: int) -> Row | None:
        r = self.c.execute(select(V).where(V.c.id == version_id)).mappings().first()
        return dict(r) if r else None

    # runs
    def insert_run(self, row: Row) -> None:
        self.c.execute(_INSERT_RUN, [row])

    def get_run(self, run_id: str, lock: bool = False) -> Row | None:
        q = _GET_RUN_LOCKED if lock and self.pg else _GET_RUN
        r = self.c.execute(q, {"_id": run_id}).mappings().first()
        return dict(r) if r else None

    def update_run(self, run_id: str, values: Row, expect_status: Iterable[str] | None = None) -> bool:
        if expect_status is not None:
            q = update(R).where(R.c.id == run_id, R.c.status.in_(list(expect_status)))
            return bool(self.c.execute(q.values(**values)).rowcount)
        keys = frozenset(values)
        stmt = _RUN_UPDATES.get(keys)
        if stmt is None:
            stmt = _RUN_UPDATES[keys] = update(R).where(R.c.id == bindparam("_id")).values(
                {k: bindparam(k) for k in keys})
        return bool(self.c.execute(stmt, {"_id": run_id, **values}).rowcount)

    # activations
    def insert_activations(self, rows: list[Row]) -> None:
        if self.blobs is not None:
            rows = [self.blobs.offload_row(r) for r in rows]
        self.c.execute(_INSERT_ACTS, rows)

    def update_activation(self, act_id: str, values: Row, expect: Row | None = None) -> bool:
        if self.blobs is not None and not _RUN_DATA.isdisjoint(values):
            values = {k: self.blobs.offload(act_id, k, v) if k in _RUN_DATA else v for k, v in values.items()}
        exp = tuple(sorted((k, v is None) for k, v in (expect or {}).items()))
        stmt = _update_activation_stmt(frozenset(values), exp)
        params = {"_id": act_id, **values}
        for k, v in (expect or {}).items():
            if v is not None:
                params[f"_x_{k}"] = v
        return bool(self.c.execute(stmt, params).rowcount)

    def delete_activations(self, ids: list[str]) -> None:
        if ids:
            if self.blobs is not None:
                self.blobs.dropped += RunData.holders(self.c, A, A.c.id.in_(ids))
            self.c.execute(delete(A).where(A.c.id.in_(ids)))

    def get_activation(self, act_id: str) -> Row | None:
        r = self.c.execute(select(A).where(A.c.id == act_id)).mappings().first()
        return dict(r) if r else None

    def find_activations(self, run_id: str, node_ids: Iterable[str] | None = None,
                         lanes: Iterable[str] | None = None) -> list[Row]:
        q = select(A).where(A.c.run_id == run_id)
        if node_ids is not None:
            q = q.where(A.c.node_id.in_(list(node_ids)))
        if lanes is not None:
            q = q.where(A.c.lane.in_(list(lanes)))
        return [dict(r) for r in self.c.execute(q).mappings()]

    def run_snapshot(self, run_id: str, limit: int) -> list[Row] | None:
        """Every activation of the run, or None when it has more than ``limit``."""
        # counted first from an index alone: a big run costs one small read, not limit+1 rows
        if (self.c.execute(_COUNT_UPTO, {"_run": run_id, "_n": limit + 1}).scalar() or 0) > limit:
            return None
        return [dict(r) for r in self.c.execute(_RUN_ACTS, {"_run": run_id}).mappings()]

    def pending_below(self, run_id: str, node_id: str, lane: str) -> list[Row]:
        q = select(A).where(A.c.run_id == run_id, A.c.node_id == node_id, A.c.status == "pending",
                            A.c.lane.like(lane.replace("%", r"\%").replace("_", r"\_") + ".%", escape="\\"))
        return [dict(r) for r in self.c.execute(q).mappings()]

    def open_counts(self, run_id: str) -> dict[str, int]:
        q = select(A.c.status, func.count()).where(A.c.run_id == run_id, A.c.status.in_(OPEN)).group_by(A.c.status)
        return {s: n for s, n in self.c.execute(q)}

    def lease(self, ids: list[str], token: str, until: datetime, now: datetime) -> list[Row]:
        cond = and_(A.c.id.in_(ids), A.c.status == "ready", or_(A.c.wake_at.is_(None), A.c.wake_at <= now))
        if self.pg:  # rows another worker is leasing right now are skipped, not waited for
            cond = A.c.id.in_(select(A.c.id).where(cond).with_for_update(skip_locked=True).scalar_subquery())
        q = (update(A).where(cond).values(status="running", leased_by=token, lease_until=until,
                                           attempts=A.c.attempts + 1, started_at=func.coalesce(A.c.started_at, now))
             .returning(*A.c))
        return [dict(r) for r in self.c.execute(q).mappings()]

    def take_waiting(self, key: str, event: Any, token: str, until: datetime, now: datetime,
                     limit: int = 1000) -> list[Row]:
        params = {"_key": key, "_n": limit, "event": event, "leased_by": token, "lease_until": until, "_now": now}
        return [dict(r) for r in self.c.execute(_TAKE_WAITING, params).mappings()]

    def due(self, now: datetime, limit: int) -> list[Row]:
        q = select(A.c.id, A.c.status, A.c.leased_by).where(or_(
            and_(A.c.status == "waiting", A.c.wake_at <= now),
            and_(A.c.status == "ready", A.c.wake_at <= now),
            and_(A.c.status == "running", A.c.lease_until < now),
        )).limit(limit)
        return [dict(r) for r in self.c.execute(q).mappings()]

    def leased_by(self, prefix: str) -> list[Row]:
        """Running activations whose lease token starts with ``prefix`` (one worker's)."""
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = select(A.c.id, A.c.leased_by).where(A.c.status == "running", A.c.leased_by.like(pattern, escape="\\"))
        return [dict(r) for r in self.c.execute(q).mappings()]

    def ready_ids(self, now: datetime, limit: int) -> list[str]:
        q = select(A.c.id).where(A.c.status == "ready", or_(A.c.wake_at.is_(None), A.c.wake_at <= now)).limit(limit)
        return [r[0] for r in self.c.execute(q)]

    def lock_key(self, key: str) -> None:
        """Serialise event delivery and waiting on one key (PostgreSQL; SQLite has one writer)."""
        if self.pg:
            self.c.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%(k)s))", {"k": key})

    def keep_event(self, key: str, payload: Any, now: datetime) -> None:
        self.c.execute(insert(E), [{"key": key, "payload": payload, "created_at": now}])

    def take_event(self, key: str) -> Row | None:
        r = self.c.execute(select(E).where(E.c.key == key).order_by(E.c.id).limit(1)).mappings().first()
        if r is None:
            return None
        self.c.execute(delete(E).where(E.c.id == r["id"]))
        return dict(r)

    # concurrency limits
    def take_slot(self, key: str, holder: str, limit: int, until: datetime, now: datetime) -> bool:
        self.lock_key("slot:" + key)  # SQLite: the write lock taken at BEGIN serialises this
        self.c.execute(delete(L).where(L.c.key == key, L.c.expires_at < now))
        if self.c.execute(update(L).where(L.c.key == key, L.c.holder == holder).values(expires_at=until)).rowcount:
            return True
        if (self.c.execute(select(func.count()).select_from(L).where(L.c.key == key)).scalar() or 0) >= limit:
            return False
        self.c.execute(insert(L), [{"key": key, "holder": holder, "expires_at": until}])
        return True

    def free_slot(self, key: str, holder: str) -> None:
        self.c.execute(delete(L).where(L.c.key == key, L.c.holder == holder))

    def renew_slots(self, holders: list[str], until: datetime) -> None:
        if holders:
            self.c.execute(update(L).where(L.c.holder.in_(holders)).values(expires_at=until))

    def waiting_for(self, key: str, limit: int = 1000) -> list[Row]:
        q = select(A.c.id, A.c.run_id).where(A.c.wait_for == key, A.c.status == "waiting").limit(limit)
        return [dict(r) for r in self.c.execute(q).mappings()]


class SqlStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.pg = db.dialect == "postgresql"
        self._writer = db.writer

    @contextmanager
    def transaction(self) -> Iterator[SqlTx]:
        tx: SqlTx | None = None
        try:
            with self._writer.begin() as conn:
                tx = SqlTx(conn, self.pg, attached(conn))
                yield tx
        except BaseException:
            if tx is not None and tx.blobs is not None:
                tx.blobs.rollback()
            raise
        if tx is not None and tx.blobs is not None:
            tx.blobs.commit()


__all__ = ["SqlStore", "SqlTx", "bindparam", "Any"]
