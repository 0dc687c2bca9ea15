"""The trail of review items: every action, append-only (who, when, what, before, after, why).

Rows are only ever inserted. The API has no way to change or delete them (it answers 405
``append_only``), and the database refuses it too: a trigger on ``review_events`` raises on
UPDATE and DELETE (SQLite and PostgreSQL; see migration 0005).

Actions: ``created``, ``assigned``, ``claimed``, ``unclaimed``, ``reassigned``, ``approved``,
``first_approval``, ``rejected``, ``changes_requested``, ``resubmitted``, ``edited``,
``commented``, ``escalated``, ``rebound`` (a new activation took the item over), ``refreshed``
(checked again by a new run), ``run_ended`` (the run waiting for it was cancelled or failed).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from datacollect.db.types import dumps
from datacollect.reviews.models import ReviewEvent
from datacollect.reviews.teams import Reviewer

EXPORT_COLUMNS = ["id", "at", "item_id", "actor", "actor_id", "action", "before", "after", "reason", "batch_id"]


def now() -> datetime:
    return datetime.now(UTC)


def _is_json(value: Any, depth: int = 0) -> bool:
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if depth > 3:
        return False
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_json(v, depth + 1) for v in value)
    return False


def plain(value: Any) -> Any:
    """A JSON value (datetimes as ISO 8601 text), stored the same on SQLite and PostgreSQL."""
    if _is_json(value):
        return value
    return orjson.loads(dumps(value))


def event_row(item_id: str, who: Reviewer, action: str, before: Any = None, after: Any = None,
              reason: str | None = None, batch_id: str | None = None, at: datetime | None = None) -> dict[str, Any]:
    return {"item_id": item_id, "at": at or now(), "actor": who.name, "actor_id": who.user_id, "action": action,
            "before": plain(before), "after": plain(after), "reason": reason, "batch_id": batch_id}


def record(session: Session, item_id: str, who: Reviewer, action: str, before: Any = None, after: Any = None,
           reason: str | None = None, batch_id: str | None = None) -> None:
    session.execute(insert(ReviewEvent.__table__), [event_row(item_id, who, action, before, after, reason, batch_id)])


def record_many(session: Session, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), 2000):
        session.execute(insert(ReviewEvent.__table__), rows[i:i + 2000])


def _query(item_id: str | None = None, actor: str | None = None, action: str | None = None,
           since: datetime | None = None, until: datetime | None = None, batch_id: str | None = None) -> Any:
    q = select(ReviewEvent)
    if item_id:
        q = q.where(ReviewEvent.item_id == item_id)
    if actor:
        q = q.where(func.lower(ReviewEvent.actor) == actor.lower())
    if action:
        q = q.where(ReviewEvent.action.in_(action.split(",")))
    if since:
        q = q.where(ReviewEvent.at >= since)
    if until:
        q = q.where(ReviewEvent.at < until)
    if batch_id:
        q = q.where(ReviewEvent.batch_id == batch_id)
    return q


def list_events(session: Session, *, page: int = 1, page_size: int = 100, newest_first: bool = True,
                **filters: Any) -> tuple[list[ReviewEvent], int]:
    q = _query(**filters)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    order = ReviewEvent.id.desc() if newest_first else ReviewEvent.id
    rows = session.scalars(q.order_by(order).limit(page_size).offset((page - 1) * page_size))
    return list(rows), total


def iter_events(session: Session, batch: int = 2000, **filters: Any) -> Iterator[ReviewEvent]:
    """Every matching event, oldest first, read in batches by id (for exports)."""
    q = _query(**filters).order_by(ReviewEvent.id)
    last = 0
    while True:
        rows = list(session.scalars(q.where(ReviewEvent.id > last).limit(batch)))
        yield from rows
        if len(rows) < batch:
            return
        last = rows[-1].id
        session.expunge_all()


def as_dict(e: ReviewEvent) -> dict[str, Any]:
    return {"id": e.id, "at": e.at, "item_id": e.item_id, "actor": e.actor, "actor_id": e.actor_id,
            "action": e.action, "before": e.before, "after": e.after, "reason": e.reason, "batch_id": e.batch_id}


def csv_chunks(events: Iterator[ReviewEvent]) -> Iterator[bytes]:
    """The events as CSV (UTF-8 with a BOM so spreadsheets read it), in chunks of ~64 KB."""
    buf = io.StringIO()
    w = csv.writer(buf)
    buf.write("\ufeff")
    w.writerow(EXPORT_COLUMNS)
    for e in events:
        w.writerow([e.id, e.at.isoformat(), e.item_id, e.actor, e.actor_id or "", e.action,
                    "" if e.before is None else orjson.dumps(e.before).decode(),
                    "" if e.after is None else orjson.dumps(e.after).decode(), e.reason or "", e.batch_id or ""])
        if buf.tell() > 64 * 1024:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()
