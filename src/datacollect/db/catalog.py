"""Named mappings (reused by DataMapper) and data sources (``{{database.<name>}}``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datacollect.db.models import DataSource, NamedMapping
from datacollect.errors import InvalidInput, NotFound
from datacollect.security import audit


def list_mappings(session: Session) -> list[NamedMapping]:
    return list(session.scalars(select(NamedMapping).order_by(NamedMapping.name)))


def put_mapping(session: Session, name: str, definition: dict[str, Any], description: str, actor: str) -> NamedMapping:
    from pydantic import ValidationError

    from datacollect.nodes.data_mapper import DataMapper

    try:
        DataMapper.Config.model_validate({k: v for k, v in definition.items() if k != "mapping"})
    except ValidationError as exc:
        raise InvalidInput("The mapping is not valid: " + "; ".join(
            f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())) from None
    m = session.get(NamedMapping, name)
    before = m.definition if m else None
    if m is None:
        m = NamedMapping(name=name, description=description, definition=definition, updated_at=datetime.now(UTC))
        session.add(m)
    else:
        m.description, m.definition, m.updated_at = description, definition, datetime.now(UTC)
    audit.record(session, actor, "mapping.put", "mapping", name, before=before, after=definition)
    return m


def delete_mapping(session: Session, name: str, actor: str) -> None:
    m = session.get(NamedMapping, name)
    if m is None:
        raise NotFound(f"There is no mapping named '{name}'")
    audit.record(session, actor, "mapping.delete", "mapping", name, before=m.definition)
    session.delete(m)


def list_sources(session: Session) -> list[DataSource]:
    return list(session.scalars(select(DataSource).order_by(DataSource.name)))


def put_source(session: Session, name: str, rows: list[dict[str, Any]], description: str, actor: str) -> DataSource:
    d = session.get(DataSource, name)
    if d is None:
        d = DataSource(name=name, description=description, rows=rows, updated_at=datetime.now(UTC))
        session.add(d)
    else:
        d.description, d.rows, d.updated_at = description, rows, datetime.now(UTC)
    audit.record(session, actor, "data_source.put", "data_source", name, after={"rows": len(rows)})
    return d
