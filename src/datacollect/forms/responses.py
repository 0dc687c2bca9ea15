"""Responses: stored answers with their schema version and metadata, and their audit trail.

A response is what a respondent submitted (or a bulk import wrote), validated by the form's
own engine. Every change to it afterwards (a status decision, an edit with its reason, a
resubmission after changes were requested) appends a ``response_changes`` row with who,
when, the values before and after, and why.

The item a workflow sees for a response (``response_item``) is the answers at the top level
plus ``response_id``, ``revision`` (2 and up for a resubmission), ``recipient``, ``campaign_id``,
``submitted_at`` and ``_form``
(``name``, ``version``, ``key``, ``required``: the required fields shown to this respondent).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datacollect.db.forms_models import Campaign, FormRequest, FormResponse, ResponseChange
from datacollect.errors import Conflict, InvalidInput, NotFound
from datacollect.forms.catalog import find_version, schema_of
from datacollect.forms.errors import AnswersInvalid
from datacollect.forms.schema import FormSchema
from datacollect.forms.validation import validate_submission
from datacollect.security import audit

RESPONSE_STATES = ("submitted", "changes_requested", "approved", "rejected")
#: status -> the statuses it may change to
TRANSITIONS = {
    "submitted": {"changes_requested", "approved", "rejected"},
    "changes_requested": {"submitted", "approved", "rejected"},
    "approved": {"changes_requested", "rejected", "submitted"},
    "rejected": {"changes_requested", "approved", "submitted"},
}
META_KEYS = ("response_id", "revision", "recipient", "campaign_id", "submitted_at", "_form")


def now() -> datetime:
    return datetime.now(UTC)


def required_shown(schema: FormSchema, cleaned: dict[str, Any]) -> list[str]:
    return [f.id for _, f in schema.iter_fields() if getattr(f, "required", False) and f.id in cleaned]


def response_item(resp: FormResponse, schema: FormSchema | None = None) -> dict[str, Any]:
    required = required_shown(schema, resp.answers) if schema is not None else []
    return {**resp.answers, "response_id": resp.id, "revision": resp.revision, "recipient": resp.recipient,
            "campaign_id": resp.campaign_id, "submitted_at": resp.submitted_at.isoformat(),
            "_form": {"name": resp.form_name, "version": resp.form_version, "key": resp.form_key,
                      "required": required}}


def add_change(session: Session, response_id: str, actor: str, action: str, before: Any = None,
               after: Any = None, reason: str | None = None) -> None:
    session.add(ResponseChange(response_id=response_id, at=now(), actor=actor, action=action, before=before,
                               after=after, reason=reason))


def create_response(session: Session, *, form_key: str, form_name: str, form_version: str,
                    answers: dict[str, Any], actor: str, source: str = "link",
                    campaign_id: str | None = None, request_id: str | None = None,
                    recipient: dict[str, Any] | None = None, run_id: str | None = None,
                    meta: dict[str, Any] | None = None, at: datetime | None = None) -> FormResponse:
    t = at or now()
    rec = recipient or {}
    resp = FormResponse(id=uuid.uuid4().hex, form_key=form_key, form_name=form_name, form_version=form_version,
                        campaign_id=campaign_id, request_id=request_id, recipient=rec,
                        recipient_email=rec.get("email"), answers=answers, status="submitted", source=source,
                        run_id=run_id, meta=meta or {}, revision=1, submitted_at=t, updated_at=t)
    session.add(resp)
    session.flush()
    add_change(session, resp.id, actor, "submitted", None, answers)
    return resp


def get_response(session: Session, response_id: str) -> FormResponse:
    resp = session.get(FormResponse, response_id)
    if resp is None:
        raise NotFound(f"There is no response '{response_id}'")
    return resp


def changes(session: Session, response_id: str) -> list[ResponseChange]:
    return list(session.scalars(select(ResponseChange).where(ResponseChange.response_id == response_id)
                                .order_by(ResponseChange.id)))


def _query(form: str | None = None, version: str | None = None, campaign: str | None = None,
           recipient: str | None = None, status: str | None = None, since: datetime | None = None,
           until: datetime | None = None, session: Session | None = None) -> Any:
    q = select(FormResponse)
    if form:
        if session is not None:
            try:
                row = find_version(session, form)
                q = q.where(FormResponse.form_key == row.key) if row.key == form else q.where(
                    FormResponse.form_name == row.name)
            except NotFound:
                q = q.where(FormResponse.form_name == form)
        else:
            q = q.where(FormResponse.form_name == form)
    if version:
        bare = version[1:] if version[:1] in "vV" and version[1:].isdigit() else version
        q = q.where(FormResponse.form_version.in_({bare, version, f"v{bare}"}))
    if campaign:
        q = q.where(FormResponse.campaign_id == campaign)
    if recipient:
        q = q.where(func.lower(FormResponse.recipient_email) == recipient.lower())
    if status:
        q = q.where(FormResponse.status.in_(status.split(",")))
    if since:
        q = q.where(FormResponse.submitted_at >= since)
    if until:
        q = q.where(FormResponse.submitted_at < until)
    return q


def list_responses(session: Session, *, page: int = 1, page_size: int = 50, **filters: Any
                   ) -> tuple[list[FormResponse], int]:
    q = _query(session=session, **filters)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(q.order_by(FormResponse.submitted_at.desc(), FormResponse.id)
                           .limit(page_size).offset((page - 1) * page_size))
    return list(rows), total


def iter_responses(session: Session, batch: int = 1000, **filters: Any) -> Iterator[FormResponse]:
    """Every matching response, oldest first, read in batches (for exports)."""
    q = _query(session=session, **filters).order_by(FormResponse.submitted_at, FormResponse.id)
    offset = 0
    while True:
        rows = list(session.scalars(q.limit(batch).offset(offset)))
        yield from rows
        if len(rows) < batch:
            return
        offset += batch
        session.expunge_all()


def update_response(session: Session, response_id: str, actor: str, *, status: str | None = None,
                    answers: dict[str, Any] | None = None, reason: str | None = None,
                    comments: dict[str, str] | None = None) -> FormResponse:
    """Change a response's status and/or edit answers (``reason`` required for an edit). An edit
    is validated with the response's own form version; the trail keeps before and after."""
    resp = get_response(session, response_id)
    if status is None and answers is None and comments is None:
        raise InvalidInput("Give a status, answers to change, or comments")
    if answers is not None:
        if not reason or not reason.strip():
            raise InvalidInput("An edit needs a reason (it goes in the response's audit trail)")
        schema = schema_of(find_version(session, resp.form_key))
        merged = {**resp.answers, **answers}
        result = validate_submission(schema, merged)
        if not result.ok:
            raise AnswersInvalid(result.errors)
        changed = {k for k in set(result.cleaned) | set(resp.answers)
                   if result.cleaned.get(k) != resp.answers.get(k)}
        if changed:
            before = {k: resp.answers.get(k) for k in sorted(changed)}
            after = {k: result.cleaned.get(k) for k in sorted(changed)}
            resp.answers = result.cleaned
            resp.revision += 1
            add_change(session, resp.id, actor, "edited", before, after, reason)
    if status is not None and status != resp.status:
        if status not in RESPONSE_STATES:
            raise InvalidInput(f"Unknown status '{status}'; use one of {', '.join(RESPONSE_STATES)}")
        if status not in TRANSITIONS.get(resp.status, set()):
            raise Conflict(f"A response that is {resp.status} cannot become {status}")
        if status == "changes_requested" and resp.request_id is None:
            raise Conflict("Changes can only be requested on a response that came through a personal link")
        add_change(session, resp.id, actor, "status", {"status": resp.status},
                   {"status": status, **({"comments": comments} if comments else {})}, reason)
        resp.status = status
        _follow_request(session, resp, status, comments)
    elif comments is not None:
        add_change(session, resp.id, actor, "comments", None, {"comments": comments}, reason)
        if resp.request_id:
            req = session.get(FormRequest, resp.request_id)
            if req is not None:
                req.comments = comments
    resp.updated_at = now()
    audit.record(session, actor, "response.update", "response", resp.id,
                 after={"status": resp.status, "revision": resp.revision}, reason=reason)
    return resp


def _follow_request(session: Session, resp: FormResponse, status: str, comments: dict[str, str] | None) -> None:
    """The request's state follows the review: changes requested reopens the link."""
    if resp.request_id is None:
        return
    req = session.get(FormRequest, resp.request_id)
    if req is None:
        return
    if status == "changes_requested":
        req.state = "changes_requested"
        req.comments = comments or None
        # the respondent gets a mail with a fresh link on the next delivery round
        req.recipient = {**(req.recipient or {}), "_changes_mail": True}
        req.next_action_at = now()
        camp = session.get(Campaign, req.campaign_id)
        if camp is not None and req.expires_at is not None and req.expires_at <= now():
            # the respondent needs time to answer: the link stays open a week from now
            from datetime import timedelta

            req.expires_at = now() + timedelta(days=7)
    elif status == "approved":
        req.state = "approved"
    elif status == "submitted":
        req.state = "submitted"


def flat_row(resp: FormResponse, fields: list[str]) -> list[Any]:
    """A response as one export row: metadata, then the answers of ``fields``."""
    import orjson

    out: list[Any] = [resp.id, resp.form_key, resp.form_version, resp.campaign_id or "",
                      resp.recipient_email or "", str((resp.recipient or {}).get("name") or ""), resp.status,
                      resp.submitted_at.isoformat(), resp.updated_at.isoformat()]
    for f in fields:
        v = resp.answers.get(f)
        if isinstance(v, (list, dict)):
            v = orjson.dumps(v).decode()
        out.append("" if v is None else v)
    return out


EXPORT_META = ["response_id", "form", "version", "campaign_id", "recipient_email", "recipient_name", "status",
               "submitted_at", "updated_at"]


def previous_answers(session: Session, resp: FormResponse) -> dict[str, Any] | None:
    """The answers as they were before the response's last change of answers (a resubmission
    or an edit), or None when they never changed. Used by reviews to show both side by side."""
    for c in reversed(changes(session, resp.id)):
        if c.action == "resubmitted" and isinstance(c.before, dict):
            return dict(c.before)
        if c.action == "edited" and isinstance(c.before, dict):
            return {**resp.answers, **c.before}
    return None


def last_period_response(session: Session, resp: FormResponse) -> FormResponse | None:
    """The same recipient's newest answer to the same form (any version) submitted before this
    one in another campaign: last period's figures, for reviews to compare with."""
    from sqlalchemy import or_

    if not resp.recipient_email:
        return None
    q = select(FormResponse).where(FormResponse.form_name == resp.form_name,
                                   func.lower(FormResponse.recipient_email) == resp.recipient_email.lower(),
                                   FormResponse.id != resp.id, FormResponse.submitted_at < resp.submitted_at)
    if resp.campaign_id:
        q = q.where(or_(FormResponse.campaign_id.is_(None), FormResponse.campaign_id != resp.campaign_id))
    return session.scalars(q.order_by(FormResponse.submitted_at.desc()).limit(1)).first()
