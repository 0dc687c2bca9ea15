"""The audit log: every change, append-only (who, when, what, before, after, why)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datacollect.db.models import AuditEntry

SECRET_KEYS = ("password", "password_hash", "secret", "token", "key_hash", "api_key")


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("***" if any(s in k.lower() for s in SECRET_KEYS) and v else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def record(session: Session, actor: str, action: str, entity_type: str, entity_id: str,
           before: Any = None, after: Any = None, reason: str | None = None) -> AuditEntry:
    entry = AuditEntry(at=datetime.now(UTC), actor=actor, action=action, entity_type=entity_type,
                       entity_id=entity_id, before=_scrub(before), after=_scrub(after), reason=reason)
    session.add(entry)
    return entry


def list_entries(session: Session, entity_type: str | None = None, entity_id: str | None = None,
                 limit: int = 100, offset: int = 0) -> tuple[list[AuditEntry], int]:
    from sqlalchemy import func

    q = select(AuditEntry)
    if entity_type:
        q = q.where(AuditEntry.entity_type == entity_type)
    if entity_id:
        q = q.where(AuditEntry.entity_id == entity_id)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(q.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total
