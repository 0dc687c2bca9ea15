"""Decisions on review items: approve, reject (with a reason), request changes (with comments
per field), edit a value (with a reason), and the same in bulk for a filtered selection.

* A reviewer decides items that are free or theirs; an admin decides any item.
* **Four eyes**: an item that needs two approvals goes back to the queue after the first one,
  for a second, *different* person (``FourEyes`` otherwise), and only then is it approved.
* For an item that is a form response, the response follows: its status changes through the
  forms service (``forms.responses.update_response``), so a request for changes reopens the
  respondent's personal link with the comments, and an edit is a new revision of the response
  with its reason in the response's own trail.
* A decision marks the item ``notify_pending`` when a workflow waits for it; the reviews
  service tells the waiting activation after the commit (and again from its tick if that
  was interrupted), so the workflow goes on out of the matching port.

Every decision is one event in the item's trail (who, when, before, after, why).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from datacollect.db.forms_models import FormRequest, FormResponse
from datacollect.errors import Conflict, InvalidInput, PermissionDenied
from datacollect.forms import catalog
from datacollect.forms import responses as form_responses
from datacollect.reviews import assignment, teams, trail
from datacollect.reviews.errors import AlreadyTaken, FourEyes
from datacollect.reviews.models import ReviewComment, ReviewItem
from datacollect.reviews.queue import (
    ACTIVE,
    OPEN,
    Filters,
    changed_values,
    conditions,
    get_item,
    now,
    reopen,
    set_status,
    user_names,
)
from datacollect.reviews.teams import SYSTEM, Reviewer
from datacollect.security import audit

#: the most items one bulk call decides
BULK_LIMIT = 10_000
GENERAL = "_general"  # the key of a request's comment about the whole form


def _decidable(session: Session, who: Reviewer, item_id: str, statuses: tuple[str, ...] = ACTIVE) -> ReviewItem:
    if not who.may_decide:
        raise PermissionDenied(f"Your role ({who.role}) may not decide reviews")
    it = get_item(session, who, item_id, lock=True)
    if it.status not in statuses:
        raise Conflict(f"This item is {it.status.replace('_', ' ')} already", details={"status": it.status})
    if it.assignee_id and it.assignee_id != who.user_id and not who.sees_all:
        holder = user_names(session, {it.assignee_id}).get(it.assignee_id, "someone else")
        raise AlreadyTaken(f"{holder} has this item; ask them, or have it reassigned",
                           details={"assignee_id": it.assignee_id})
    return it


def _finish(it: ReviewItem, decision: str, who: Reviewer, reason: str | None, t: datetime,
            comments: dict[str, str] | None = None) -> None:
    told = bool(it.waiting and it.wait_key)
    keeps_waiting = told and decision == "changes_requested" and it.on_changes == "wait"
    set_status(it, decision, decision=decision, decided_by=who.name, decided_by_id=who.user_id, decided_at=t,
               reason=reason, assignee_id=it.assignee_id or who.user_id, first_reviewed_at=it.first_reviewed_at or t,
               waiting=keeps_waiting, notify_pending=told, escalate_at=None,
               **({"comments": comments} if decision == "changes_requested" else {}))


def _sync_response(session: Session, it: ReviewItem, who: Reviewer, status: str, reason: str | None,
                   comments: dict[str, str] | None = None) -> None:
    if it.response_id:
        resp = form_responses.update_response(session, it.response_id, who.name, status=status, reason=reason,
                                              comments=comments)
        it.response_revision = resp.revision


def approve(session: Session, who: Reviewer, item_id: str, reason: str | None = None) -> str:
    """Approve; answers ``approved``, or ``first_approval`` when a second approver is needed."""
    it = _decidable(session, who, item_id)
    return _approve(session, it, who, reason, now())


def _approve(session: Session, it: ReviewItem, who: Reviewer, reason: str | None, t: datetime) -> str:
    before = {"status": it.status, "assignee_id": it.assignee_id}
    if it.approvals_required > 1:
        if it.first_approver_id is None:
            strategy = it.assignment if it.assignment in ("round_robin", "least_loaded") else "team"
            second = assignment.pick(session, strategy, it.team_id, exclude=[who.user_id or ""]) \
                if it.team_id else None
            set_status(it, "pending", first_approver_id=who.user_id, first_approver=who.name, first_approved_at=t,
                       assignee_id=second, claimed_at=None, first_reviewed_at=it.first_reviewed_at or t)
            trail.record(session, it.id, who, "first_approval", before,
                         {"status": "pending", "first_approver": who.name, "assignee_id": second}, reason)
            return "first_approval"
        if it.first_approver_id == who.user_id:
            raise FourEyes("You gave the first approval of this item; a second, different person must approve it")
    _finish(it, "approved", who, reason, t)
    _sync_response(session, it, who, "approved", reason)
    approvers = [a for a in (it.first_approver, who.name) if a]
    trail.record(session, it.id, who, "approved", before, {"status": "approved", "approved_by": approvers}, reason)
    return "approved"


def close_erased(session: Session, items: list[ReviewItem], reason: str) -> list[str]:
    """The respondent's data behind these items is being erased: those still open are rejected
    by the platform with ``reason``, so nobody approves an emptied item into an ERP, and a
    workflow waiting for one goes on down ``rejected`` (its other lanes are not touched).
    Answers the ids of the items closed; their workflows are told after the commit."""
    t, closed = now(), []
    for it in items:
        if it.status not in ACTIVE:
            continue
        before = {"status": it.status}
        _finish(it, "rejected", SYSTEM, reason, t)
        trail.record(session, it.id, SYSTEM, "rejected", before, {"status": "rejected"}, reason)
        closed.append(it.id)
    session.flush()
    return closed


def reject(session: Session, who: Reviewer, item_id: str, reason: str) -> ReviewItem:
    if not reason or not reason.strip():
        raise InvalidInput("A rejection needs a reason (it goes in the trail and back to the workflow)")
    it = _decidable(session, who, item_id)
    before = {"status": it.status}
    _finish(it, "rejected", who, reason.strip(), now())
    _sync_response(session, it, who, "rejected", reason.strip())
    trail.record(session, it.id, who, "rejected", before, {"status": "rejected"}, reason.strip())
    return it


def _form_fields(session: Session, it: ReviewItem) -> list[str] | None:
    if not it.response_id:
        return None
    resp = session.get(FormResponse, it.response_id)
    if resp is None:
        return None
    schema = catalog.schema_of(catalog.find_version(session, resp.form_key))
    return [f.id for _, f in schema.iter_fields() if f.has_value]


def request_changes(session: Session, who: Reviewer, item_id: str, comments: dict[str, str],
                    message: str | None = None) -> ReviewItem:
    """Ask for changes with a comment per field (and an optional message about the whole
    item). For a form response the respondent's link reopens with the comments; the
    resubmission comes back to the same reviewer."""
    comments = {str(k): str(v).strip() for k, v in (comments or {}).items() if str(v).strip()}
    if not comments and not (message or "").strip():
        raise InvalidInput("Say what needs changing: a comment on at least one field, or a message")
    it = _decidable(session, who, item_id, OPEN)
    fields = _form_fields(session, it)
    if fields is not None:
        unknown = [k for k in comments if k not in fields]
        if unknown:
            raise InvalidInput(f"'{unknown[0]}' is not a field of this form", details={"fields": fields})
    full = {**comments, **({GENERAL: message.strip()} if message and message.strip() else {})}
    before = {"status": it.status}
    t = now()
    _finish(it, "changes_requested", who, message.strip() if message else None, t, full)
    _sync_response(session, it, who, "changes_requested", message, full)
    session.add_all([ReviewComment(item_id=it.id, at=t, author_id=who.user_id, author=who.name,
                                   field=None if k == GENERAL else k, body=v, kind="change_request", round=it.round)
                     for k, v in full.items()])
    trail.record(session, it.id, who, "changes_requested", before, {"status": "changes_requested",
                                                                    "comments": full}, message)
    return it


def edit(session: Session, who: Reviewer, item_id: str, values: dict[str, Any], reason: str) -> ReviewItem:
    """Change values with a reason. For a form response this is a new revision of the
    response (validated by its form); the trail keeps the values before and after."""
    if not isinstance(values, dict) or not values:
        raise InvalidInput("Give the values to change, as {field: value}")
    if not reason or not reason.strip():
        raise InvalidInput("An edit needs a reason (it goes in the trail)")
    it = _decidable(session, who, item_id, OPEN)
    data = dict(it.data or {})
    if it.response_id:
        resp = form_responses.update_response(session, it.response_id, who.name, answers=values,
                                              reason=reason.strip())
        new = {**data, **{k: resp.answers.get(k) for k in values}}
        revision: int | None = resp.revision
    else:
        new = {**data, **values}
        revision = it.response_revision
    before, after = changed_values(data, new)
    if not after:
        raise InvalidInput("These are the values the item has already; nothing was changed")
    set_status(it, it.status, data=new, response_revision=revision, first_reviewed_at=it.first_reviewed_at or now())
    trail.record(session, it.id, who, "edited", before, after, reason.strip())
    return it


def resubmit(session: Session, who: Reviewer, item_id: str, data: dict[str, Any]) -> ReviewItem:
    """New values for an item that waits for changes (a workflow item, not a form response,
    whose respondent answers through the public form): it goes back to the same reviewer."""
    it = get_item(session, who, item_id, lock=True)
    if it.status != "changes_requested":
        raise Conflict(f"This item is {it.status.replace('_', ' ')}; only an item waiting for changes takes new "
                       "values")
    if it.response_id:
        raise Conflict("This item is a form response: the respondent answers through their personal link")
    if not isinstance(data, dict):
        raise InvalidInput("'data' must be an object")
    reopen(session, it, {**(it.data or {}), **data}, it.response_revision, who)
    return it


def response_resubmitted(session: Session, response_id: str, item: dict[str, Any] | None = None) -> list[str]:
    """A respondent answered a request for changes: every item of that response waiting for
    changes goes back to its reviewer with the new answers. Answers the items reopened."""
    resp = session.get(FormResponse, response_id)
    if resp is None:
        return []
    done = []
    q = (select(ReviewItem).where(ReviewItem.response_id == response_id, ReviewItem.status == "changes_requested")
         .with_for_update())
    for it in session.scalars(q):
        if it.response_revision is not None and resp.revision <= it.response_revision:
            continue
        # the checks made on the earlier answers (a DataValidator's score and issues) no longer hold
        kept = {k: v for k, v in (it.data or {}).items() if k not in ("score", "issues")}
        data = {**kept, **(item if item is not None else resp.answers)}
        respondent = Reviewer(None, f"respondent:{resp.recipient_email}" if resp.recipient_email else "respondent",
                              "viewer")
        reopen(session, it, data, resp.revision, respondent)
        done.append(it.id)
    return done


# -- comments ------------------------------------------------------------------------------
def add_comment(session: Session, who: Reviewer, item_id: str, body: str, field: str | None = None
                ) -> ReviewComment:
    if not who.may_decide:
        raise PermissionDenied(f"Your role ({who.role}) may read reviews but not comment on them")
    body = (body or "").strip()
    if not body:
        raise InvalidInput("A comment needs some text")
    if len(body) > 10_000:
        raise InvalidInput("A comment is at most 10,000 characters")
    it = get_item(session, who, item_id)
    c = ReviewComment(item_id=it.id, at=now(), author_id=who.user_id, author=who.name, field=field or None,
                      body=body, kind="note", round=it.round)
    session.add(c)
    session.flush()
    trail.record(session, it.id, who, "commented", None, {"field": field, "body": body, "comment_id": c.id})
    return c


def comments_of(session: Session, item_id: str) -> list[ReviewComment]:
    return list(session.scalars(select(ReviewComment).where(ReviewComment.item_id == item_id)
                                .order_by(ReviewComment.id)))


# -- bulk ----------------------------------------------------------------------------------
def bulk_decide(session: Session, who: Reviewer, action: str, reason: str | None, f: Filters,
                limit: int = BULK_LIMIT) -> dict[str, Any]:
    """Approve or reject every open item of a filtered selection (or a list of ids) with one
    reason, in a few statements. Items someone else has, and items whose first approval the
    caller gave (four eyes), are left as they are and listed with the reason."""
    if not who.may_decide:
        raise PermissionDenied(f"Your role ({who.role}) may not decide reviews")
    if action not in ("approve", "reject"):
        raise InvalidInput("A bulk decision is 'approve' or 'reject'")
    reason = (reason or "").strip() or None
    if action == "reject" and not reason:
        raise InvalidInput("A rejection needs a reason (one for the whole selection)")
    statuses = [s for s in (f.status or OPEN) if s in OPEN]
    if not statuses:
        raise InvalidInput("Only open items (pending, in review, escalated) can be decided in bulk")
    conds = [*conditions(session, who, Filters(**{**f.__dict__, "status": None})), ReviewItem.status.in_(statuses)]
    matched = session.scalar(select(func.count()).select_from(ReviewItem).where(*conds)) or 0
    if matched > limit:
        raise InvalidInput(f"The selection has {matched} items; decide at most {limit} in one call (narrow the "
                           "filters)", details={"matched": matched, "limit": limit})
    cols = (ReviewItem.id, ReviewItem.status, ReviewItem.assignee_id, ReviewItem.approvals_required,
            ReviewItem.first_approver_id, ReviewItem.response_id, ReviewItem.waiting, ReviewItem.wait_key,
            ReviewItem.first_approver)
    q = select(*cols).where(*conds)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    rows = session.execute(q).all()
    batch = uuid.uuid4().hex
    t = now()
    final, first, skipped = [], [], []
    for r in rows:
        if r.assignee_id and r.assignee_id != who.user_id and not who.sees_all:
            skipped.append({"id": r.id, "reason": "someone else has this item"})
        elif action == "approve" and r.approvals_required > 1 and r.first_approver_id is None:
            first.append(r)
        elif action == "approve" and r.approvals_required > 1 and r.first_approver_id == who.user_id:
            skipped.append({"id": r.id, "reason": "you gave the first approval; a second person must approve"})
        else:
            final.append(r)
    decision = "approved" if action == "approve" else "rejected"
    events = []
    for chunk in _chunks([r.id for r in final]):
        session.execute(update(ReviewItem).where(ReviewItem.id.in_(chunk), ReviewItem.status.in_(statuses)).values(
            status=decision, decision=decision, decided_by=who.name, decided_by_id=who.user_id, decided_at=t,
            reason=reason, assignee_id=func.coalesce(ReviewItem.assignee_id, who.user_id),
            first_reviewed_at=func.coalesce(ReviewItem.first_reviewed_at, t),
            notify_pending=ReviewItem.waiting & ReviewItem.wait_key.is_not(None), waiting=False, escalate_at=None,
            version=ReviewItem.version + 1, updated_at=t).execution_options(synchronize_session=False))
    for r in final:
        after: dict[str, Any] = {"status": decision}
        if decision == "approved":
            after["approved_by"] = [a for a in (r.first_approver, who.name) if a]
        events.append(trail.event_row(r.id, who, decision, {"status": r.status}, after, reason, batch, t))
    for chunk in _chunks([r.id for r in first]):
        session.execute(update(ReviewItem).where(ReviewItem.id.in_(chunk), ReviewItem.status.in_(statuses)).values(
            status="pending", first_approver_id=who.user_id, first_approver=who.name, first_approved_at=t,
            assignee_id=None, claimed_at=None, first_reviewed_at=func.coalesce(ReviewItem.first_reviewed_at, t),
            version=ReviewItem.version + 1, updated_at=t).execution_options(synchronize_session=False))
    for r in first:
        events.append(trail.event_row(r.id, who, "first_approval", {"status": r.status},
                                      {"status": "pending", "first_approver": who.name}, reason, batch, t))
    trail.record_many(session, events)
    with_response = [r for r in final if r.response_id]
    if with_response:
        _sync_responses(session, [(r.id, r.response_id) for r in with_response], who, decision, reason)
    audit.record(session, who.name, f"review.bulk_{action}", "review_batch", batch,
                 after={"decided": len(final), "first_approvals": len(first), "skipped": len(skipped)}, reason=reason)
    return {"batch_id": batch, "action": action, "matched": matched, "decided": len(final),
            "first_approvals": len(first), "skipped": skipped, "busy": max(0, matched - len(rows)),
            "ids": [r.id for r in final], "first_approval_ids": [r.id for r in first]}


def _sync_responses(session: Session, pairs: list[tuple[str, str]], who: Reviewer, status: str,
                    reason: str | None) -> None:
    """Set the responses' status through the forms service, with their rows read up front."""
    ids = [rid for _, rid in pairs]
    for chunk in _chunks(ids):
        list(session.scalars(select(FormResponse).where(FormResponse.id.in_(chunk))))
    reqs = [rid for rid in (session.get(FormResponse, i).request_id for i in ids) if rid]  # type: ignore[union-attr]
    for chunk in _chunks(reqs):
        list(session.scalars(select(FormRequest).where(FormRequest.id.in_(chunk))))
    revisions = {}
    for item_id, rid in pairs:
        revisions[item_id] = form_responses.update_response(session, rid, who.name, status=status,
                                                            reason=reason).revision
    for item_id, rev in revisions.items():
        session.execute(update(ReviewItem).where(ReviewItem.id == item_id).values(response_revision=rev)
                        .execution_options(synchronize_session=False))


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


# -- a response's status changed from the responses page ------------------------------------
def decide_for_response(session: Session, who: Reviewer, response_id: str, *, status: str | None,
                        answers: dict[str, Any] | None, reason: str | None,
                        comments: dict[str, str] | None) -> str | None:
    """A change of a response that a review is deciding goes through that review, so the waiting
    workflow goes on and the review's trail has it: an edit is a review edit; approved, rejected
    and changes_requested are the review's decisions. Answers the review item's id, or None when
    no open review holds the response (the caller then changes the response itself)."""
    it = session.scalar(select(ReviewItem).where(ReviewItem.response_id == response_id,
                                                 ReviewItem.status.in_(ACTIVE))
                        .order_by(ReviewItem.created_at.desc()).limit(1))
    if it is None:
        return None
    if not teams.can_see(session, who, it):
        raise PermissionDenied("A review decides this response and you are not one of its reviewers: the reviewers "
                               "of its team approve, reject or ask for changes in the review queue")
    if status == "submitted":
        raise Conflict("This response is in review: approve, reject or ask for changes; it cannot go back to "
                       "'submitted'", details={"review_item_id": it.id})
    if answers:
        edit(session, who, it.id, answers, reason or "")
    if status == "approved":
        approve(session, who, it.id, reason)
    elif status == "rejected":
        reject(session, who, it.id, reason or "")
    elif status == "changes_requested":
        per_field = dict(comments or {})
        message = per_field.pop(GENERAL, None) or reason
        request_changes(session, who, it.id, per_field, message)
    return it.id
