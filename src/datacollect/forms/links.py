"""What a respondent does through a personal link (``/f/{token}``), with no login.

The token is the only proof: it is looked up by its SHA-256, so the stored hash cannot be
turned back into a link. A link is

* **unknown** (404, ``link_not_found``): forged or mistyped;
* **gone** (410): ``link_expired`` after its campaign's deadline (plus grace) or its own
  expiry, ``link_used`` once submitted (until a reviewer asks for changes, which reopens it),
  ``link_delegated`` once passed on to a colleague;
* **open**: the form can be read, a draft saved, files uploaded, the answers submitted
  (a second submission of a used link is a 409 ``link_used``), or the form passed on.

Every write here is one short transaction; a submission is validated completely before
anything is written, so a refused submission stores nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from datacollect.db.forms_models import Campaign, FormLink, FormRequest, FormResponse, FormUpload
from datacollect.errors import InvalidInput, NotFound
from datacollect.forms.campaigns import OPEN_STATES, hash_token, normalise_recipient
from datacollect.forms.catalog import find_version, form_info, schema_of
from datacollect.forms.delivery import fmt_deadline
from datacollect.forms.errors import AnswersInvalid, LinkGone, LinkUsed
from datacollect.forms.responses import add_change, create_response, required_shown, response_item
from datacollect.forms.schema import FileField, FormSchema, TableField
from datacollect.forms.validation import validate_submission

MAX_DRAFT_BYTES = 2 * 1024 * 1024


def now() -> datetime:
    return datetime.now(UTC)


class LinkNotFound(NotFound):
    code = "link_not_found"


def resolve(session: Session, token: str, *, lock: bool = False) -> tuple[FormRequest, Campaign]:
    if not token or len(token) > 200:
        raise LinkNotFound("This link is not valid. Please check that you copied the whole link from the mail.")
    # the request and its campaign in one read
    q = (select(FormRequest, Campaign).join(FormLink, FormLink.request_id == FormRequest.id)
         .join(Campaign, Campaign.id == FormRequest.campaign_id)
         .where(FormLink.token_hash == hash_token(token)))
    if lock and session.bind is not None and session.bind.dialect.name == "postgresql":
        q = q.with_for_update(of=FormRequest)
    found = session.execute(q).first()
    if found is None:
        raise LinkNotFound("This link is not valid. Please check that you copied the whole link from the mail.")
    req, camp = found
    return req, camp


def ensure_open(req: FormRequest, camp: Campaign, at: datetime, *, submitting: bool = False) -> None:
    if req.state == "delegated":
        raise LinkGone("link_delegated", "This form was passed on to a colleague, who received a link of their "
                                         "own. This link no longer works.", {"state": req.state})
    if req.state in ("submitted", "approved"):
        when = req.submitted_at.strftime("%Y-%m-%d %H:%M UTC") if req.submitted_at else "earlier"
        if submitting:
            raise LinkUsed(f"This form was already submitted ({when}); it cannot be submitted twice.",
                           details={"state": req.state, "submitted_at": req.submitted_at})
        raise LinkGone("link_used", f"This form was already submitted ({when}). Thank you! If something needs "
                                    "changing, the team will reopen it for you.",
                       {"state": req.state, "submitted_at": req.submitted_at})
    if req.state == "overdue" or (req.expires_at is not None and req.expires_at <= at) or camp.status == "closed":
        deadline = camp.deadline or req.expires_at
        raise LinkGone("link_expired", f"This link expired{' on ' + fmt_deadline(deadline) if deadline else ''}: "
                                       "answers are no longer taken. Please contact the person who sent it.",
                       {"state": req.state, "expires_at": req.expires_at})


def _limits(schema: FormSchema) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def one(f: FileField) -> dict[str, Any]:
        mb = f.max_size_mb if f.max_size_mb is not None else schema.settings.max_file_mb
        accept = f.accept if f.accept is not None else schema.settings.allowed_file_types
        return {"max_bytes": int(mb * 1024 * 1024), "max_mb": mb, "accept": accept or [],
                "multiple": f.multiple, "max_files": f.max_files}

    for _, f in schema.iter_fields():
        if isinstance(f, FileField):
            out[f.id] = one(f)
        elif isinstance(f, TableField):
            for c in f.fields:
                if isinstance(c, FileField):
                    out[f"{f.id}.{c.id}"] = one(c)
    return out


def view(session: Session, token: str, *, mark_opened: bool = True) -> dict[str, Any]:
    """What the public page needs: the form, the answers to start from, and the link's state."""
    t = now()
    req, camp = resolve(session, token)
    ensure_open(req, camp, t)
    row = find_version(session, req.form_key)
    schema = schema_of(row)
    if mark_opened and req.state in ("pending", "sent", "bounced"):
        # a conditional update: an answer committed meanwhile (another tab) is never overwritten
        session.execute(update(FormRequest).where(FormRequest.id == req.id,
                                                  FormRequest.state.in_(("pending", "sent", "bounced")))
                        .values(state="opened", opened_at=req.opened_at or t)
                        .execution_options(synchronize_session=False))
        req_state = "opened"
    else:
        req_state = req.state
    answers: dict[str, Any] = {}
    source = "empty"
    if req.prefill:
        answers, source = dict(req.prefill), "prefill"
    if req.state == "changes_requested" and req.response_id:
        resp = session.get(FormResponse, req.response_id)
        if resp is not None:
            answers, source = dict(resp.answers), "response"
    if req.draft is not None:
        answers, source = dict(req.draft), "draft"
    recipient = req.recipient or {}
    return {
        "form": {"key": row.key, "name": row.name, "version": row.version, "title": schema.title or row.key,
                 "description": schema.description, "schema": row.schema},
        "link": {"state": req_state, "expires_at": req.expires_at, "deadline": camp.deadline,
                 "opened_at": req.opened_at or t, "draft_saved_at": req.draft_saved_at,
                 "allow_drafts": schema.settings.allow_drafts, "can_delegate": True},
        "recipient": {"name": recipient.get("name"), "email": recipient.get("email"),
                      "company": recipient.get("company")},
        "answers": answers,
        "answers_from": source,
        "comments": req.comments or {},
        "upload_limits": _limits(schema),
    }


def save_draft(session: Session, token: str, answers: Any) -> dict[str, Any]:
    t = now()
    req, camp = resolve(session, token, lock=True)
    ensure_open(req, camp, t)
    schema = schema_of(find_version(session, req.form_key))
    if not schema.settings.allow_drafts:
        raise InvalidInput("This form does not keep drafts; please submit it in one go")
    if not isinstance(answers, dict):
        raise InvalidInput("'answers' must be an object of field ids and values")
    import orjson

    if len(orjson.dumps(answers)) > MAX_DRAFT_BYTES:
        raise InvalidInput("The draft is too large to keep")
    result = validate_submission(schema, answers, partial=True)
    known = {f.id for _, f in schema.iter_fields() if f.has_value}
    draft = {k: v for k, v in answers.items() if k in known}
    req.draft = draft
    req.draft_saved_at = t
    if req.state in ("pending", "sent", "opened", "bounced"):
        req.state = "draft_saved"
        req.opened_at = req.opened_at or t
    return {"saved_at": t, "state": req.state, "problems": result.errors}


def upload_rules(session: Session, token: str, field: str) -> tuple[FormRequest, dict[str, Any]]:
    """The request and the size/type limits of one file field, checked before any byte is read."""
    req, camp = resolve(session, token)
    ensure_open(req, camp, now())
    schema = schema_of(find_version(session, req.form_key))
    limits = _limits(schema)
    if field not in limits:
        files = ", ".join(limits) or "none"
        raise InvalidInput(f"'{field}' is not a file field of this form (file fields: {files})")
    return req, limits[field]


def record_upload(session: Session, request_id: str, field: str, ref: dict[str, Any], name: str) -> FormUpload:
    up = FormUpload(key=ref["key"], request_id=request_id, field=field, name=name, size=ref["size"],
                    content_type=ref["content_type"], sha256=ref.get("sha256"), created_at=now())
    session.add(up)
    return up


def _file_refs(schema: FormSchema, answers: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []

    def add(path: str, value: Any) -> None:
        for ref in value if isinstance(value, list) else [value]:
            if isinstance(ref, dict):
                out.append((path, ref))

    for _, f in schema.iter_fields():
        v = answers.get(f.id)
        if v is None:
            continue
        if isinstance(f, FileField):
            add(f.id, v)
        elif isinstance(f, TableField) and isinstance(v, list):
            cols = [c for c in f.fields if isinstance(c, FileField)]
            for i, row in enumerate(v):
                for c in cols:
                    if isinstance(row, dict) and row.get(c.id) is not None:
                        add(f"{f.id}[{i}].{c.id}", row[c.id])
    return out


def submit(session: Session, token: str, answers: Any, meta: dict[str, Any]
           ) -> tuple[FormResponse, dict[str, Any], Campaign]:
    """Validate and store a submission; answers (response, workflow item, campaign). Raises
    before writing anything when the link or the answers are not right."""
    t = now()
    req, camp = resolve(session, token, lock=True)
    ensure_open(req, camp, t, submitting=True)
    row = find_version(session, req.form_key)
    schema = schema_of(row)
    if not isinstance(answers, dict):
        raise InvalidInput("'answers' must be an object of field ids and values")
    result = validate_submission(schema, answers)
    errors = list(result.errors)
    refs = _file_refs(schema, result.cleaned)
    if refs:
        keys = [r["key"] for _, r in refs if isinstance(r.get("key"), str)]
        mine = {u.key: u for u in session.scalars(select(FormUpload).where(FormUpload.key.in_(keys)))
                if u.request_id == req.id}
        for path, ref in refs:
            up = mine.get(ref.get("key"))
            if up is None:
                errors.append({"field": path, "code": "file", "message": "This file was not uploaded through this "
                               "link; please upload it again"})
            else:  # what the store says, not what the browser claims
                ref.update(size=up.size, content_type=up.content_type, name=up.name)
    if errors:
        raise AnswersInvalid(errors)
    cleaned = result.cleaned
    info = form_info(row, schema)
    info["required"] = required_shown(schema, cleaned)
    chain = list((req.recipient or {}).get("_chain") or [])
    meta = {**meta, "request_id": req.id, **({"delegation": chain} if chain else {})}
    run_id = (camp.origin or {}).get("run_id")
    if req.response_id and req.state == "changes_requested":
        resp = session.get(FormResponse, req.response_id)
        assert resp is not None
        before = resp.answers
        resp.answers, resp.status, resp.updated_at = cleaned, "submitted", t
        resp.revision += 1
        resp.meta = {**(resp.meta or {}), **meta, "resubmitted_at": t.isoformat()}
        add_change(session, resp.id, f"respondent:{req.email or req.id}", "resubmitted", before, cleaned)
    else:
        resp = create_response(session, form_key=row.key, form_name=row.name, form_version=row.version,
                               answers=cleaned, actor=f"respondent:{req.email or req.id}", source="link",
                               campaign_id=camp.id, request_id=req.id, recipient=_public_recipient(req.recipient),
                               run_id=run_id, meta=meta, at=t)
    req.state = "submitted"
    req.submitted_at = t
    req.response_id = resp.id
    req.draft = None
    req.comments = None
    req.next_action_at = None
    item = response_item(resp, schema)
    item["_form"] = info
    return resp, item, camp


def _public_recipient(rec: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (rec or {}).items() if not k.startswith("_")}


def delegate(session: Session, token: str, email: str, name: str | None = None, note: str | None = None
             ) -> FormRequest:
    """Pass the form on: a request of its own for the colleague (who gets a link by mail on the
    next delivery round), with the draft so far; this link closes."""
    t = now()
    req, camp = resolve(session, token, lock=True)
    ensure_open(req, camp, t)
    rec = normalise_recipient({"email": email, **({"name": name} if name else {})}, 0)
    if req.email and rec["email"].lower() == req.email.lower():
        raise InvalidInput("This is already the address the form was sent to; give your colleague's address")
    base = {k: v for k, v in (req.recipient or {}).items() if k not in ("email", "name", "phone", "_chain")}
    chain = [*list((req.recipient or {}).get("_chain") or []), req.email or req.id]
    new = FormRequest(id=uuid.uuid4().hex, campaign_id=camp.id, form_key=req.form_key,
                      recipient={**base, **rec, "delegated_by": req.email, "_chain": chain,
                                 **({"_note": note} if note else {})},
                      email=rec["email"], phone=None, state="pending", expires_at=req.expires_at,
                      prefill=req.prefill, draft=req.draft, draft_saved_at=req.draft_saved_at,
                      comments=req.comments, response_id=req.response_id, delegated_from=req.id,
                      next_action_at=t, created_at=t, reminders_sent=0)
    session.add(new)
    session.flush()
    session.execute(update(FormUpload).where(FormUpload.request_id == req.id).values(request_id=new.id))
    req.state = "delegated"
    req.delegated_to = new.id
    req.next_action_at = None
    return new


def item_for_response(session: Session, resp: FormResponse) -> dict[str, Any]:
    return response_item(resp, schema_of(find_version(session, resp.form_key)))


OPEN = OPEN_STATES
