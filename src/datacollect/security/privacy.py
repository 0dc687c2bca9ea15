"""GDPR: export and erasure of a respondent's data, and retention of responses (DESIGN §10).

A **respondent** is known by their email: the requests (personal links) sent to that address,
the responses submitted through them or recorded for it, the files they uploaded, the review
items about those responses, and the run data (activation inputs, outputs and state, run
triggers) whose items carry their email or one of their response ids.

* ``export_respondent(session, email)`` answers all of it as one JSON document (links without
  their tokens: only hashes are stored; run data: only the items that mention them).
* ``erase_respondent(session, email, actor, reason)`` erases it everywhere and answers a report
  with the count per kind and the blob keys to delete once the transaction is committed:

  - responses and their trail are deleted; uploaded files' rows deleted (blobs by the caller);
  - requests are kept for the campaign's counts but anonymised (no address, recipient, draft,
    prefill or comments) and their links deleted, so a link stops working;
  - review items about the responses are kept for metrics but their values, title and
    comments are erased; those still open are rejected by the platform first (their waiting
    workflows go on down ``rejected``, told after the commit); the review trail keeps who did
    what, when and why, while ``before`` and ``after`` become the tombstone ``{"erased": true}``:
    the one change the trail's append-only trigger allows (migration 0008);
  - run data: items that mention them are removed from activation inputs and outputs (other
    respondents' items in the same activation stay), other values that mention them become
    ``"[erased]"``; the same for run triggers, the audit log's values, the ERP ledger's
    payloads, data sources' rows; pending events, queued webhook deliveries and the mail ledger's
    rows that mention them are deleted.

  The erasure itself goes in the audit log under ``respondent`` and a SHA-256 of the address (so
  one can later check that a given person was erased without the log keeping the address).
* ``due_for_retention(session, now, default_days)`` and ``erase_responses(...)``: responses
  older than their form's ``settings.retention_days`` (or ``DATACOLLECT_RESPONSE_RETENTION_DAYS``)
  are erased the same way, response by response, by the scheduler (``RetentionSweeper``).

Finding mentions scans JSON as text (``LIKE``); erasure and export are rare, and the retention
sweep works in small batches.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Text, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from datacollect.db.forms_models import (
    Campaign,
    Form,
    FormLink,
    FormRequest,
    FormResponse,
    FormUpload,
    ResponseChange,
    SentMail,
)
from datacollect.db.integrations_models import EmailMessage, ErpExport, WebhookDelivery
from datacollect.db.models import Activation, AuditEntry, DataSource, HistoryValue, PendingEvent, Run
from datacollect.db.run_data import COLUMNS as BLOB_COLUMNS
from datacollect.db.run_data import attached, has_ref, ref_key
from datacollect.errors import InvalidInput
from datacollect.reviews import decisions as review_decisions
from datacollect.reviews.models import ReviewComment, ReviewEvent, ReviewItem
from datacollect.security import audit

log = logging.getLogger("datacollect.privacy")

TOMBSTONE = {"erased": True}
ERASED = "[erased]"
RUN_COLUMNS = ("input", "output", "state", "event", "error")


def now() -> datetime:
    return datetime.now(UTC)


def normalise_email(email: str) -> str:
    e = (email or "").strip().lower()
    if not e or "@" not in e or len(e) > 320 or e.startswith("@") or e.endswith("@") or any(c.isspace() for c in e):
        raise InvalidInput("Give the respondent's email address (name@example.com)", details={"email": email})
    return e


def email_digest(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


# -- finding mentions --------------------------------------------------------------------------
def _text(col: Any) -> Any:
    return func.lower(cast(col, Text))


def _mentioning(cols: Iterable[Any], terms: list[str]) -> Any:
    return or_(*(_text(c).contains(t.lower(), autoescape=True) for c in cols for t in terms))


def mentions(value: Any, terms: list[str]) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        low = value.lower()
        return any(t.lower() in low for t in terms)
    if isinstance(value, dict):
        return any(mentions(k, terms) or mentions(v, terms) for k, v in value.items())
    if isinstance(value, list):
        return any(mentions(v, terms) for v in value)
    return False


def scrub(value: Any, terms: list[str]) -> Any:
    """``value`` without what mentions ``terms``: list elements that mention the person are
    dropped, an object with a value of its own that names them (an item with their email or
    response id) becomes the tombstone, other text that names them becomes ``"[erased]"``."""
    if isinstance(value, str):
        return ERASED if mentions(value, terms) else value
    if isinstance(value, dict):
        if any(isinstance(v, str) and mentions(v, terms) for v in value.values()):
            return TOMBSTONE
        return {k: scrub(v, terms) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, terms) for v in value if not (isinstance(v, (dict, list)) and mentions(v, terms))]
    return value


def pick(value: Any, terms: list[str]) -> Any:
    """Only what mentions ``terms``: of a list, the elements that do (for an export)."""
    if isinstance(value, list):
        return [pick(v, terms) for v in value if mentions(v, terms)]
    if isinstance(value, dict):
        return {k: pick(v, terms) for k, v in value.items() if mentions(v, terms)}
    return value


# -- what is stored about someone ---------------------------------------------------------------
@dataclass
class Subject:
    """The rows about one person (or, for retention, about some responses)."""

    terms: list[str]
    requests: list[FormRequest] = field(default_factory=list)
    responses: list[FormResponse] = field(default_factory=list)
    email: str | None = None

    @property
    def request_ids(self) -> list[str]:
        return [r.id for r in self.requests]

    @property
    def response_ids(self) -> list[str]:
        return [r.id for r in self.responses]


def find_respondent(session: Session, email: str) -> Subject:
    e = normalise_email(email)
    reqs = list(session.scalars(select(FormRequest).where(func.lower(FormRequest.email) == e)
                                .order_by(FormRequest.created_at)))
    rids = [r.id for r in reqs]
    q = select(FormResponse).where(func.lower(FormResponse.recipient_email) == e)
    if rids:
        q = select(FormResponse).where(or_(func.lower(FormResponse.recipient_email) == e,
                                           FormResponse.request_id.in_(rids)))
    resps = list(session.scalars(q.order_by(FormResponse.submitted_at)))
    return Subject([e, *[r.id for r in resps]], reqs, resps, email=e)


def _uploads(session: Session, subject: Subject) -> list[FormUpload]:
    keys = set()
    for r in subject.responses:
        _file_keys(r.answers, keys)
    q = select(FormUpload).where(FormUpload.key.in_(list(keys))) if keys else None
    if subject.request_ids:
        by_req = FormUpload.request_id.in_(subject.request_ids)
        q = select(FormUpload).where(or_(by_req, FormUpload.key.in_(list(keys)))) if keys else select(
            FormUpload).where(by_req)
    return list(session.scalars(q.order_by(FormUpload.created_at))) if q is not None else []


def _file_keys(value: Any, out: set[str]) -> None:
    if isinstance(value, dict):
        if isinstance(value.get("key"), str) and "size" in value:
            out.add(value["key"])
        for v in value.values():
            _file_keys(v, out)
    elif isinstance(value, list):
        for v in value:
            _file_keys(v, out)


def _review_items(session: Session, subject: Subject) -> list[ReviewItem]:
    conds = []
    if subject.response_ids:
        conds.append(ReviewItem.response_id.in_(subject.response_ids))
    if subject.terms:
        conds.append(_mentioning([ReviewItem.data, ReviewItem.title, ReviewItem.subject_key], subject.terms))
    if not conds:
        return []
    return list(session.scalars(select(ReviewItem).where(or_(*conds)).order_by(ReviewItem.created_at)))


def _activations(session: Session, terms: list[str]) -> list[Activation]:
    """Activations whose run data mentions the person: found by their text in the database,
    and among those keeping run data in the blob store, by the values read back."""
    cols = [Activation.__table__.c[c] for c in RUN_COLUMNS]
    rows = session.scalars(select(Activation).where(or_(_mentioning(cols, terms), has_ref(Activation.__table__))))
    return [a for a in rows if any(mentions(getattr(a, c), terms) for c in RUN_COLUMNS)]


def _scrub_activations(session: Session, terms: list[str], out: Erasure) -> int:
    """``_scrub_rows`` for run data, some of which may be in the blob store: a scrubbed value
    that is still large goes to a new blob, and the old blob (which mentions the person) is
    deleted with the erasure's files once the transaction is committed."""
    table = Activation.__table__
    store = attached(session.get_bind())
    n = 0
    ids = list(session.scalars(select(table.c.id).where(or_(
        _mentioning([table.c[c] for c in RUN_COLUMNS], terms), has_ref(table)))))
    for i in range(0, len(ids), 200):
        part = ids[i:i + 200]
        # each column as its value (read back from the blob store) and as stored (a reference's key)
        q = select(table.c.id, *(table.c[c] for c in RUN_COLUMNS), *(cast(table.c[c], Text) for c in RUN_COLUMNS))
        k = len(RUN_COLUMNS)
        for row in session.execute(q.where(table.c.id.in_(part))):
            values = {}
            for c, v, text in zip(RUN_COLUMNS, row[1:1 + k], row[1 + k:], strict=True):
                if not mentions(v, terms):
                    continue
                values[c] = scrub(v, terms)
                old = ref_key(text)
                if old:
                    out.blob_keys.append(old)
                if store is not None and c in BLOB_COLUMNS:
                    values[c] = store.put(row[0], c, values[c]) or values[c]
            if values:
                session.execute(update(table).where(table.c.id == row[0]).values(values))
                n += 1
    return n


def _runs(session: Session, terms: list[str]) -> list[Run]:
    return list(session.scalars(select(Run).where(_mentioning([Run.trigger, Run.options, Run.error], terms))))


# -- export -------------------------------------------------------------------------------------
def export_respondent(session: Session, email: str, actor: str) -> dict[str, Any]:
    """Everything stored about the person at ``email``, as one JSON-ready document."""
    s = find_respondent(session, email)
    camps = {c.id: c for c in session.scalars(select(Campaign).where(
        Campaign.id.in_({r.campaign_id for r in s.requests})))} if s.requests else {}
    links: dict[str, list[dict[str, Any]]] = {}
    if s.requests:
        for ln in session.scalars(select(FormLink).where(FormLink.request_id.in_(s.request_ids))):
            links.setdefault(ln.request_id, []).append({"purpose": ln.purpose, "created_at": ln.created_at})
    requests = [{
        "id": r.id, "campaign_id": r.campaign_id, "campaign": camps[r.campaign_id].name if r.campaign_id in camps
        else None, "form_key": r.form_key, "state": r.state, "email": r.email, "phone": r.phone,
        "recipient": {k: v for k, v in (r.recipient or {}).items() if not k.startswith("_") or k == "_chain"},
        "prefill": r.prefill, "draft": r.draft, "draft_saved_at": r.draft_saved_at, "comments": r.comments,
        "response_id": r.response_id, "delegated_from": r.delegated_from, "delegated_to": r.delegated_to,
        "sent_at": r.sent_at, "opened_at": r.opened_at, "submitted_at": r.submitted_at, "expires_at": r.expires_at,
        "reminders_sent": r.reminders_sent, "created_at": r.created_at,
        "links": links.get(r.id, [])} for r in s.requests]
    changes: dict[str, list[dict[str, Any]]] = {}
    if s.responses:
        for c in session.scalars(select(ResponseChange).where(ResponseChange.response_id.in_(s.response_ids))
                                 .order_by(ResponseChange.id)):
            changes.setdefault(c.response_id, []).append({"at": c.at, "actor": c.actor, "action": c.action,
                                                           "before": c.before, "after": c.after, "reason": c.reason})
    responses = [{
        "id": r.id, "form_key": r.form_key, "form_name": r.form_name, "form_version": r.form_version,
        "campaign_id": r.campaign_id, "request_id": r.request_id, "recipient": r.recipient,
        "answers": r.answers, "status": r.status, "source": r.source, "run_id": r.run_id, "meta": r.meta,
        "revision": r.revision, "submitted_at": r.submitted_at, "updated_at": r.updated_at,
        "revisions": changes.get(r.id, [])} for r in s.responses]
    files = [{"key": u.key, "name": u.name, "field": u.field, "size": u.size, "content_type": u.content_type,
              "sha256": u.sha256, "request_id": u.request_id, "uploaded_at": u.created_at}
             for u in _uploads(session, s)]
    items = _review_items(session, s)
    comments: dict[str, list[dict[str, Any]]] = {}
    trail: dict[str, list[dict[str, Any]]] = {}
    if items:
        ids = [i.id for i in items]
        for c in session.scalars(select(ReviewComment).where(ReviewComment.item_id.in_(ids))
                                 .order_by(ReviewComment.id)):
            comments.setdefault(c.item_id, []).append({"at": c.at, "author": c.author, "field": c.field,
                                                       "body": c.body, "kind": c.kind})
        for e in session.scalars(select(ReviewEvent).where(ReviewEvent.item_id.in_(ids)).order_by(ReviewEvent.id)):
            trail.setdefault(e.item_id, []).append({"at": e.at, "actor": e.actor, "action": e.action,
                                                    "before": e.before, "after": e.after, "reason": e.reason})
    review_items = [{
        "id": i.id, "queue": i.queue, "status": i.status, "decision": i.decision, "title": i.title,
        "response_id": i.response_id, "data": i.data, "issues": i.issues, "comments_by_field": i.comments,
        "reason": i.reason, "created_at": i.created_at, "decided_at": i.decided_at,
        "comments": comments.get(i.id, []), "trail": trail.get(i.id, [])} for i in items]
    run_data = []
    for a in _activations(session, s.terms):
        entry = {"run_id": a.run_id, "node_id": a.node_id, "lane": a.lane, "status": a.status}
        for col in RUN_COLUMNS:
            v = getattr(a, col)
            if mentions(v, s.terms):
                entry[col] = pick(v, s.terms)
        run_data.append(entry)
    runs = [{"run_id": r.id, "workflow_id": r.workflow_id, "status": r.status, "created_at": r.created_at,
             "trigger": pick(r.trigger, s.terms)} for r in _runs(session, s.terms)]
    audit.record(session, actor, "respondent.export", "respondent", email_digest(s.email or ""),
                 after={"responses": len(responses), "requests": len(requests)})
    return {"email": s.email, "exported_at": now(), "requests": requests, "responses": responses, "files": files,
            "review_items": review_items, "runs": runs, "run_data": run_data,
            "counts": {"requests": len(requests), "responses": len(responses), "files": len(files),
                       "review_items": len(review_items), "runs": len(runs), "run_data": len(run_data)}}


# -- erasure ------------------------------------------------------------------------------------
@dataclass
class Erasure:
    counts: dict[str, int]
    blob_keys: list[str]
    #: open review items the erasure rejected: their waiting workflows are told after the commit
    closed_items: list[str] = field(default_factory=list)

    def add(self, kind: str, n: int) -> None:
        if n:
            self.counts[kind] = self.counts.get(kind, 0) + n


def _erase(session: Session, subject: Subject, why: str) -> Erasure:
    out = Erasure({}, [])
    terms = subject.terms
    # files
    uploads = _uploads(session, subject)
    out.blob_keys = [u.key for u in uploads]
    if uploads:
        session.execute(delete(FormUpload).where(FormUpload.key.in_(out.blob_keys)))
    out.add("files", len(uploads))
    # review items about the responses: values gone, the item (and the trail's who/what/when) kept
    items = _review_items(session, subject)
    if items:
        ids = [i.id for i in items]
        out.closed_items = review_decisions.close_erased(session, items, why)
        out.add("review_items_closed", len(out.closed_items))
        out.add("review_comments", session.execute(delete(ReviewComment).where(ReviewComment.item_id.in_(ids)))
                .rowcount or 0)
        session.execute(update(ReviewItem).where(ReviewItem.id.in_(ids)).values(
            data=TOMBSTONE, title=ERASED, subject_key=None, issues=[], issue_count=0, comments=None)
            .execution_options(synchronize_session=False))
        ev = ReviewEvent.__table__
        for col in ("before", "after"):  # the one change the trail's trigger allows (migration 0008)
            out.add("review_trail_values", session.execute(
                update(ev).where(ev.c.item_id.in_(ids), ev.c[col].is_not(None), ev.c[col] != TOMBSTONE)
                .values({col: TOMBSTONE})).rowcount or 0)
    out.add("review_items", len(items))
    # responses and their trail
    if subject.responses:
        rids = subject.response_ids
        session.execute(delete(ResponseChange).where(ResponseChange.response_id.in_(rids)))
        session.execute(delete(FormResponse).where(FormResponse.id.in_(rids)).execution_options(
            synchronize_session=False))
    out.add("responses", len(subject.responses))
    # requests: kept for the campaign's counts, without anything about the person
    if subject.requests:
        qids = subject.request_ids
        session.execute(delete(FormLink).where(FormLink.request_id.in_(qids)))
        session.execute(update(FormRequest).where(FormRequest.id.in_(qids)).values(
            email=None, phone=None, recipient=TOMBSTONE, prefill=None, draft=None, comments=None,
            delivery_error=None, response_id=None, next_action_at=None).execution_options(synchronize_session=False))
    out.add("requests", len(subject.requests))
    # mentions elsewhere: delegations, run data, the audit log, ledgers, data sources
    out.add("other_requests", _scrub_rows(session, FormRequest, ("recipient",), terms))
    out.add("other_responses", _scrub_rows(session, FormResponse, ("meta",), terms))
    out.add("run_data", _scrub_activations(session, terms, out))
    out.add("runs", _scrub_rows(session, Run, ("trigger", "options", "error"), terms))
    out.add("audit_entries", _scrub_rows(session, AuditEntry, ("before", "after"), terms))
    out.add("erp_exports", _scrub_rows(session, ErpExport, ("payload", "response", "document_key", "origin"), terms))
    if subject.responses:
        session.execute(update(ErpExport).where(ErpExport.response_id.in_(subject.response_ids))
                        .values(response_id=None))
    out.add("data_source_rows", _scrub_data_sources(session, terms))
    out.add("history_values", session.execute(delete(HistoryValue).where(
        _mentioning([HistoryValue.key, HistoryValue.ref], terms))).rowcount or 0)
    out.add("pending_events", session.execute(delete(PendingEvent).where(
        _mentioning([PendingEvent.payload], terms))).rowcount or 0)
    out.add("webhook_deliveries", session.execute(delete(WebhookDelivery).where(
        _mentioning([WebhookDelivery.payload], terms))).rowcount or 0)
    if subject.email:
        out.add("sent_mails", session.execute(delete(SentMail).where(
            _mentioning([SentMail.recipients], [subject.email]))).rowcount or 0)
        out.add("email_messages", session.execute(update(EmailMessage).where(
            func.lower(EmailMessage.sender) == subject.email).values(sender=ERASED, subject=ERASED)).rowcount or 0)
    return out


def _scrub_rows(session: Session, model: Any, cols: tuple[str, ...], terms: list[str]) -> int:
    table = model.__table__
    pk = list(table.primary_key.columns)[0]
    n = 0
    rows = session.execute(select(pk, *(table.c[c] for c in cols)).where(
        _mentioning([table.c[c] for c in cols], terms))).all()
    for row in rows:
        values = {c: scrub(v, terms) for c, v in zip(cols, row[1:], strict=True) if mentions(v, terms)}
        if values:
            session.execute(update(table).where(pk == row[0]).values(values))
            n += 1
    return n


def _scrub_data_sources(session: Session, terms: list[str]) -> int:
    n = 0
    for ds in session.scalars(select(DataSource).where(_mentioning([DataSource.rows], terms))):
        kept = [r for r in ds.rows or [] if not mentions(r, terms)]
        n += len(ds.rows or []) - len(kept)
        ds.rows = kept
    return n


def erase_respondent(session: Session, email: str, actor: str, reason: str) -> Erasure:
    """Erase everything about the person at ``email`` (see the module's docstring)."""
    if not (reason or "").strip():
        raise InvalidInput("An erasure needs a reason (it goes in the audit log), e.g. the request's reference")
    subject = find_respondent(session, email)
    session.flush()
    result = _erase(session, subject, f"The respondent's data was erased: {reason.strip()}")
    audit.record(session, actor, "respondent.erase", "respondent", email_digest(subject.email or ""),
                 after={"counts": result.counts}, reason=reason)
    return result


# -- retention ----------------------------------------------------------------------------------
def retention_days(session: Session, default_days: float | None) -> dict[str, float]:
    """Days responses are kept, per form name: the form's newest version's
    ``settings.retention_days``, else ``default_days``; forms kept forever are left out."""
    from datacollect.forms.catalog import find_version, schema_of

    out: dict[str, float] = {}
    for form in session.scalars(select(Form)):
        try:
            settings = schema_of(find_version(session, form.current_key)).settings
        except Exception:  # a form that does not load: its responses are kept
            continue
        days = getattr(settings, "retention_days", None)
        days = days if isinstance(days, (int, float)) and not isinstance(days, bool) and days > 0 else default_days
        if days:
            out[form.name] = float(days)
    return out


def due_for_retention(session: Session, at: datetime, default_days: float | None, limit: int = 100
                      ) -> dict[str, list[str]]:
    """Response ids past their form's retention, per form name (at most ``limit`` in all)."""
    out: dict[str, list[str]] = {}
    left = limit
    for name, days in retention_days(session, default_days).items():
        if left <= 0:
            break
        ids = list(session.scalars(select(FormResponse.id).where(
            FormResponse.form_name == name, FormResponse.submitted_at < at - timedelta(days=days))
            .order_by(FormResponse.submitted_at).limit(left)))
        if ids:
            out[name] = ids
            left -= len(ids)
    return out


def erase_responses(session: Session, response_ids: list[str], actor: str, reason: str,
                    entity: tuple[str, str] | None = None) -> Erasure:
    """Erase responses, their requests' recipient data, files, review values and run data."""
    resps = list(session.scalars(select(FormResponse).where(FormResponse.id.in_(response_ids))))
    req_ids = [r.request_id for r in resps if r.request_id]
    reqs = list(session.scalars(select(FormRequest).where(FormRequest.id.in_(req_ids)))) if req_ids else []
    subject = Subject([r.id for r in resps], reqs, resps)
    result = _erase(session, subject, f"The response was erased: {reason}")
    kind, eid = entity or ("responses", ",".join(sorted(response_ids))[:200])
    audit.record(session, actor, "retention.erase", kind, eid, after={"counts": result.counts,
                                                                      "responses": len(resps)}, reason=reason)
    return result


class RetentionSweeper:
    """The scheduler's hook: every ``interval`` seconds, erase the responses past retention
    (a batch at a time) and delete their files from the blob store."""

    def __init__(self, db: Any, blobs: Any, default_days: float | None, interval: float = 3600.0) -> None:
        self.db, self.blobs, self.default_days, self.interval = db, blobs, default_days, interval
        self._last = 0.0

    async def tick(self) -> None:
        import time

        if time.monotonic() - self._last < self.interval:
            return
        self._last = time.monotonic()
        try:
            await self.sweep()
        except Exception:  # the next sweep tries again
            log.exception("retention sweep failed")

    async def sweep(self, at: datetime | None = None) -> dict[str, int]:
        """Erase what is due now; answers the counts per kind."""
        import asyncio

        total: dict[str, int] = {}
        while True:
            erased = await asyncio.to_thread(self._batch, at or now())
            if erased is None:
                return total
            for k, v in erased.counts.items():
                total[k] = total.get(k, 0) + v
            await delete_blobs(self.blobs, erased.blob_keys)

    def _batch(self, at: datetime) -> Erasure | None:
        with self.db.write() as s:
            due = due_for_retention(s, at, self.default_days)
            if not due:
                return None
            result = Erasure({}, [])
            for name, ids in due.items():
                days = retention_days(s, self.default_days).get(name)
                one = erase_responses(s, ids, "system:retention", f"older than the retention of {days:g} days",
                                      entity=("form", name))
                for k, v in one.counts.items():
                    result.add(k, v)
                result.blob_keys += one.blob_keys
            log.info("retention: erased %s", result.counts)
            return result


async def delete_blobs(blobs: Any, keys: list[str]) -> int:
    """Delete files from the blob store (after the erasure is committed); answers how many."""
    n = 0
    for key in keys:
        try:
            await blobs.delete(key)
            n += 1
        except Exception:  # already gone, or the store is down: logged, the rows are gone anyway
            log.warning("could not delete the file %s from the blob store", key, exc_info=True)
    return n


__all__ = ["Erasure", "RetentionSweeper", "TOMBSTONE", "delete_blobs", "due_for_retention", "email_digest",
           "erase_respondent", "erase_responses", "export_respondent", "find_respondent", "retention_days"]
