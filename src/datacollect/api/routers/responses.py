"""Responses: list with filters and pages, export as CSV or Excel, read with the audit trail,
and change (status, edits with a reason). Answers of fields marked ``sensitive`` are masked
for callers who may not change responses."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from datacollect.api.deps import PlatformDep, Principal, SessionDep, require
from datacollect.api.forms_schemas import ChangeRead, ResponseDetail, ResponseRead, ResponseUpdate
from datacollect.api.schemas import Page
from datacollect.db.forms_models import FormResponse
from datacollect.errors import InvalidInput
from datacollect.forms import catalog
from datacollect.forms import responses as svc
from datacollect.reviews import decisions as review_decisions
from datacollect.reviews.teams import Reviewer

router = APIRouter(prefix="/api/responses", tags=["responses"])
MASK = "***"


def _masker(session: Any, p: Principal) -> Any:
    if p.can("responses:write"):
        return lambda resp: resp.answers
    cache: dict[str, list[str]] = {}

    def mask(resp: FormResponse) -> dict[str, Any]:
        paths = cache.get(resp.form_key)
        if paths is None:
            paths = catalog.schema_of(catalog.find_version(session, resp.form_key)).sensitive_paths()
            cache[resp.form_key] = paths
        if not paths:
            return resp.answers
        out = dict(resp.answers)
        for path in paths:
            head, _, col = path.partition("[*].")
            if not col:
                if out.get(head) is not None:
                    out[head] = MASK
            elif isinstance(out.get(head), list):
                out[head] = [{**r, col: MASK} if isinstance(r, dict) and r.get(col) is not None else r
                             for r in out[head]]
        return out

    return mask


def _read(resp: FormResponse, answers: dict[str, Any]) -> dict[str, Any]:
    return {"id": resp.id, "form_key": resp.form_key, "form_name": resp.form_name, "form_version": resp.form_version,
            "campaign_id": resp.campaign_id, "request_id": resp.request_id, "recipient": resp.recipient,
            "answers": answers, "status": resp.status, "source": resp.source, "run_id": resp.run_id,
            "meta": resp.meta or {}, "revision": resp.revision, "submitted_at": resp.submitted_at,
            "updated_at": resp.updated_at}


@router.get("", response_model=Page[ResponseRead], operation_id="responses-list",
            responses={200: {"content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument."
                                                         "spreadsheetml.sheet": {}}}})
def list_responses(session: SessionDep, p: Principal = require("responses:read"),
                   form: str | None = Query(None, description="A form key (one version) or name (all versions)"),
                   version: str | None = None, campaign: str | None = None,
                   recipient: str | None = Query(None, description="The recipient's email"),
                   status: str | None = Query(None, description="One status, or several separated by commas"),
                   since: datetime | None = Query(None, description="Submitted at or after"),
                   until: datetime | None = Query(None, description="Submitted before"),
                   page: int = Query(1, ge=1), page_size: int = Query(50, ge=1, le=1000),
                   format: Literal["json", "csv", "xlsx"] = "json") -> Any:
    filters = {"form": form, "version": version, "campaign": campaign, "recipient": recipient, "status": status,
               "since": since, "until": until}
    mask = _masker(session, p)
    if format != "json":
        return _export(session, format, filters, mask)
    rows, total = svc.list_responses(session, page=page, page_size=page_size, **filters)
    return Page(data=[ResponseRead(**_read(r, mask(r))) for r in rows], count=total)


def _columns(session: Any, form: str | None) -> list[str]:
    if not form:
        return []
    try:
        _, schema = catalog.schema_for(session, form)
    except Exception:
        return []
    return [f.id for f in catalog.value_fields(schema)]


def _export(session: Any, fmt: str, filters: dict[str, Any], mask: Any) -> Any:
    fields = _columns(session, filters.get("form"))
    if not fields:  # no form named: the union of the answers' keys, in first-seen order
        seen: dict[str, None] = {}
        for r in svc.iter_responses(session, **filters):
            for k in r.answers:
                seen.setdefault(k, None)
        fields = list(seen)
    header = [*svc.EXPORT_META, *fields]
    name = f"responses-{(filters.get('form') or 'all')}".replace("/", "_")

    def rows() -> Iterator[list[Any]]:
        for r in svc.iter_responses(session, **filters):
            shown = mask(r)
            if shown is not r.answers:
                r = _Masked(r, shown)
            yield svc.flat_row(r, fields)

    if fmt == "csv":
        def stream() -> Iterator[bytes]:
            buf = io.StringIO()
            w = csv.writer(buf)
            buf.write("\ufeff")
            w.writerow(header)
            for row in rows():
                w.writerow(row)
                if buf.tell() > 64 * 1024:
                    yield buf.getvalue().encode()
                    buf.seek(0)
                    buf.truncate()
            yield buf.getvalue().encode()

        return StreamingResponse(stream(), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Responses")
        ws.append(header)
        for row in rows():
            ws.append(row)
        fd, path = tempfile.mkstemp(suffix=".xlsx")
        os.close(fd)
        wb.save(path)
        return FileResponse(path, filename=f"{name}.xlsx", background=BackgroundTask(os.unlink, path),
                            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    raise InvalidInput("format must be json, csv or xlsx")


class _Masked:
    def __init__(self, resp: FormResponse, answers: dict[str, Any]) -> None:
        self._r, self.answers = resp, answers

    def __getattr__(self, name: str) -> Any:
        return getattr(self._r, name)


@router.get("/{response_id}", response_model=ResponseDetail, operation_id="responses-read")
def read_response(response_id: str, session: SessionDep, p: Principal = require("responses:read")) -> ResponseDetail:
    """A response with its audit trail (every change: who, when, before, after, why)."""
    resp = svc.get_response(session, response_id)
    trail = [ChangeRead(id=c.id, at=c.at, actor=c.actor, action=c.action, before=c.before, after=c.after,
                        reason=c.reason) for c in svc.changes(session, resp.id)]
    if not p.can("responses:write"):
        trail = [t.model_copy(update={"before": MASK if t.before else t.before, "after": MASK if t.after else t.after})
                 for t in trail]
    return ResponseDetail(**_read(resp, _masker(session, p)(resp)), changes=trail)


@router.put("/{response_id}", response_model=ResponseDetail, operation_id="responses-update")
def update_response(response_id: str, body: ResponseUpdate, platform: PlatformDep,
                    p: Principal = require("responses:write")) -> ResponseDetail:
    """Change the status (approve, reject, request changes with a message per field) or edit answers
    (with a reason); every change goes in the response's audit trail."""
    with platform.db.write() as session:
        # a response a review is deciding changes through that review: its workflow goes on
        item_id = review_decisions.decide_for_response(
            session, Reviewer(p.user_id, p.actor, p.role), response_id, status=body.status, answers=body.answers,
            reason=body.reason, comments=body.comments) if body.status or body.answers else None
        if item_id is None:
            resp = svc.update_response(session, response_id, p.actor, status=body.status, answers=body.answers,
                                       reason=body.reason, comments=body.comments)
        else:
            session.flush()
            resp = svc.get_response(session, response_id)
        trail = [ChangeRead(id=c.id, at=c.at, actor=c.actor, action=c.action, before=c.before, after=c.after,
                            reason=c.reason) for c in svc.changes(session, resp.id)]
        answer = ResponseDetail(**_read(resp, resp.answers), changes=trail)
    reviews = platform.services.extra.get("reviews")
    if item_id is not None and reviews is not None:
        reviews.after_commit([item_id])
    return answer
