"""Saved forms: every save is a new immutable version (``supplier_emissions_v2``).

``save_form`` checks the schema (every problem at once, ``FormSchemaError``), then stores it
under its key. A document without a version becomes the next version of its name; saving a
key that exists answers the stored version when the schema is the same and refuses a
different one (a saved version never changes). ``schema_for`` keeps parsed versions in memory:
they never change, so the cache needs no invalidation.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from datacollect.db.forms_models import Form, FormVersion
from datacollect.errors import Conflict, NotFound
from datacollect.forms.schema import FormSchema, FormSchemaError, parse_form_schema
from datacollect.security import audit

_CACHE: OrderedDict[str, FormSchema] = OrderedDict()
_CACHE_SIZE = 512


def now() -> datetime:
    return datetime.now(UTC)


def save_form(session: Session, document: Any, actor: str) -> tuple[FormVersion, bool]:
    """Store a form version; answers (row, created)."""
    if isinstance(document, dict) and "version" not in document and not document.get("id"):
        name = document.get("name")
        if isinstance(name, str) and name:
            labels = session.scalars(select(FormVersion.version).where(FormVersion.name == name)).all()
            numbers = [int(v.lstrip("vV")) for v in labels if v.lstrip("vV").isdigit()]
            document = {**document, "version": max(numbers, default=0) + 1}
    schema = parse_form_schema(document)
    dumped = schema.model_dump(mode="json", exclude_none=True)
    existing = session.get(FormVersion, schema.key)
    if existing is not None:
        if existing.schema == dumped:
            return existing, False
        raise Conflict(f"The form {schema.key} exists already and a saved version never changes; save the "
                       f"change as a new version (leave 'version' out to get the next one)",
                       details={"key": schema.key})
    t = now()
    seq = (session.scalar(select(func.max(FormVersion.seq)).where(FormVersion.name == schema.name)) or 0) + 1
    row = FormVersion(key=schema.key, name=schema.name, version=str(schema.version), seq=seq,
                      title=schema.title or "", schema=dumped, created_at=t, created_by=actor)
    session.add(row)
    form = session.get(Form, schema.name)
    if form is None:
        session.add(Form(name=schema.name, title=schema.title or "", current_key=schema.key, versions=1,
                         created_at=t, updated_at=t))
    else:
        form.current_key, form.title, form.versions, form.updated_at = schema.key, schema.title or "", seq, t
    session.flush()
    audit.record(session, actor, "form.create", "form", schema.key, after={"name": schema.name,
                                                                          "version": str(schema.version)})
    return row, True


def find_version(session: Session, form_id: str) -> FormVersion:
    """A version by key (``supplier_emissions_v2``), or a form's newest version by name."""
    row = session.get(FormVersion, form_id)
    if row is not None:
        return row
    form = session.get(Form, form_id)
    if form is not None:
        row = session.get(FormVersion, form.current_key)
        if row is not None:
            return row
    raise NotFound(f"There is no form '{form_id}'")


def list_forms(session: Session, search: str | None = None, page: int = 1, page_size: int = 50
               ) -> tuple[list[Form], int]:
    q = select(Form)
    if search:
        like = f"%{search.lower()}%"
        q = q.where(or_(func.lower(Form.name).like(like), func.lower(Form.title).like(like)))
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(q.order_by(Form.updated_at.desc()).limit(page_size).offset((page - 1) * page_size))
    return list(rows), total


def list_versions(session: Session, form_id: str) -> list[FormVersion]:
    name = find_version(session, form_id).name
    return list(session.scalars(select(FormVersion).where(FormVersion.name == name).order_by(FormVersion.seq)))


def schema_of(row: FormVersion) -> FormSchema:
    cached = _CACHE.get(row.key)
    if cached is not None:
        _CACHE.move_to_end(row.key)
        return cached
    try:
        schema = FormSchema.model_validate(row.schema)
    except FormSchemaError as exc:  # pragma: no cover - a stored schema was valid when saved
        raise Conflict(f"The stored form {row.key} no longer passes its checks: {exc.message}") from exc
    _CACHE[row.key] = schema
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return schema


def schema_for(session: Session, form_id: str) -> tuple[FormVersion, FormSchema]:
    row = find_version(session, form_id)
    return row, schema_of(row)


def form_info(row: FormVersion, schema: FormSchema) -> dict[str, Any]:
    """What an item carries as ``_form``: name, version, key, and the required fields."""
    required = [f.id for _, f in schema.iter_fields() if getattr(f, "required", False)]
    return {"name": row.name, "version": row.version, "key": row.key, "required": required}


def value_fields(schema: FormSchema) -> list[Any]:
    """Top-level fields that take an answer, in form order."""
    return [f for _, f in schema.iter_fields() if f.has_value]
