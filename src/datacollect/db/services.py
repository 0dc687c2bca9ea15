"""Database-backed services for the engine and the nodes: schedules, named mappings,
value history, data sources, and child runs (Loop)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from datacollect.db.models import DataSource, HistoryValue, NamedMapping, Run, Schedule, ScheduleFire
from datacollect.db.session import Database
from datacollect.db.types import dumps  # noqa: F401  (re-exported for callers)

S = Schedule.__table__
F = ScheduleFire.__table__
R = Run.__table__
H = HistoryValue.__table__


class SqlSchedules:
    def __init__(self, db: Database) -> None:
        self.db = db

    def due_schedules(self, now: datetime) -> list[dict[str, Any]]:
        with self.db.engine.connect() as c:
            rows = c.execute(select(S).where(S.c.enabled.is_(True), S.c.next_fire_at <= now)).mappings()
            return [dict(r) for r in rows]

    def claim_fire(self, schedule_id: str, fire_time: datetime, run_id: str, now: datetime) -> bool:
        try:
            with self.db.writer.begin() as c:
                c.execute(insert(F), [{"schedule_id": schedule_id, "fire_time": fire_time, "run_id": run_id,
                                       "claimed_at": now}])
            return True
        except IntegrityError:
            return False  # another scheduler claimed this fire

    def set_schedule(self, schedule_id: str, values: dict[str, Any]) -> None:
        with self.db.writer.begin() as c:
            c.execute(update(S).where(S.c.id == schedule_id).values(**values))

    def orphan_fires(self, older_than: datetime) -> list[dict[str, Any]]:
        q = (select(F.c.schedule_id, F.c.fire_time, F.c.run_id, S.c.workflow_id, S.c.node_id, S.c.cron)
             .join(S, S.c.id == F.c.schedule_id)
             .outerjoin(R, R.c.id == F.c.run_id)
             .where(F.c.run_id.is_not(None), R.c.id.is_(None), F.c.claimed_at < older_than).limit(100))
        with self.db.engine.connect() as c:
            return [dict(r) for r in c.execute(q).mappings()]

    def forget_fire(self, schedule_id: str, fire_time: datetime) -> None:
        with self.db.writer.begin() as c:
            c.execute(update(F).where(F.c.schedule_id == schedule_id, F.c.fire_time == fire_time).values(run_id=None))


class SqlMappings:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get_mapping(self, name: str) -> dict[str, Any] | None:
        with self.db.session() as s:
            m = s.get(NamedMapping, name)
            return dict(m.definition) if m else None


class SqlHistory:
    def __init__(self, db: Database) -> None:
        self.db = db

    def history(self, scope: str, key: str, field: str, limit: int = 20) -> list[float]:
        q = (select(H.c.value).where(H.c.scope == scope, H.c.key == str(key), H.c.field == field)
             .order_by(H.c.recorded_at.desc(), H.c.id.desc()).limit(limit))
        with self.db.engine.connect() as c:
            return [float(r[0]) for r in c.execute(q)][::-1]  # oldest first

    def record(self, scope: str, key: str, values: dict[str, float], ref: str) -> None:
        from datacollect.engine.runner import utcnow

        now = utcnow()
        with self.db.writer.begin() as c:
            existing = {r[0] for r in c.execute(select(H.c.field).where(H.c.ref == ref))}
            rows = [{"scope": scope, "key": str(key), "field": f, "value": float(v), "ref": ref, "recorded_at": now}
                    for f, v in values.items() if f not in existing and v is not None]
            if rows:
                c.execute(insert(H), rows)

    def history_excluding(self, scope: str, key: str, field: str, ref_prefix: str, limit: int = 20) -> list[float]:
        q = (select(H.c.value).where(and_(H.c.scope == scope, H.c.key == str(key), H.c.field == field,
                                          ~H.c.ref.startswith(ref_prefix)))
             .order_by(H.c.recorded_at.desc()).limit(limit))
        with self.db.engine.connect() as c:
            return [float(r[0]) for r in c.execute(q)]


class SqlDataSources:
    def __init__(self, db: Database) -> None:
        self.db = db

    def names(self) -> list[str]:
        with self.db.engine.connect() as c:
            return [r[0] for r in c.execute(select(DataSource.__table__.c.name))]

    def rows(self, name: str) -> list[dict[str, Any]]:
        with self.db.session() as s:
            d = s.get(DataSource, name)
            return list(d.rows) if d else []


class EngineSubRuns:
    """Child runs for Loop: started without being driven inline, so the parent can commit
    its wait first; the child's end is delivered to the parent as an event."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner

    async def start_child(self, workflow_id: str, trigger: dict[str, Any], *, parent_run_id: str,
                          notify: str, idempotency_key: str) -> str:
        import hashlib
        import uuid

        run_id = uuid.UUID(hashlib.md5(idempotency_key.encode()).hexdigest()).hex  # same child on retry
        with self.runner.store.transaction() as tx:
            if tx.get_run(run_id) is not None:
                return run_id
        await self.runner.start_run(workflow_id, [trigger], mode="child", parent_run_id=parent_run_id,
                                    notify=notify, run_id=run_id, drive=False)
        return run_id


__all__ = ["SqlSchedules", "SqlMappings", "SqlHistory", "SqlDataSources", "EngineSubRuns", "delete"]
