"""One review item as the reviewer sees it: the values now, their previous version and last
period's answer from the same recipient side by side, per field, with the validation issues
and the reviewer's comments on each field; the comments, the trail, and what the caller may do.

* For a form response: the response's answers now, the answers before its last change (a
  resubmission or an edit: ``forms.responses.previous_answers``), and the same recipient's
  newest answer to the same form in an earlier campaign (``last_period_response``).
* For any other item: its values, the values before its last edit or resubmission (from the
  trail), and the newest earlier item of the same queue about the same ``subject_key``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datacollect.db.forms_models import FormResponse
from datacollect.errors import NotFound
from datacollect.forms import catalog
from datacollect.forms import responses as form_responses
from datacollect.reviews import teams
from datacollect.reviews.decisions import GENERAL, comments_of
from datacollect.reviews.models import ReviewEvent, ReviewItem
from datacollect.reviews.queue import ACTIVE, META_KEYS, OPEN, get_item

MASK = "***"


def _values(data: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (data or {}).items() if k not in META_KEYS and not k.startswith("_")}


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def actions(session: Session, who: teams.Reviewer, it: ReviewItem) -> list[str]:
    """What the caller may do with the item now (the dashboard enables its buttons by this)."""
    out: list[str] = []
    if not who.may_decide:
        return out
    free = it.assignee_id is None or it.assignee_id == who.user_id or who.sees_all
    second_self = bool(it.first_approver_id and it.first_approver_id == who.user_id)
    if it.status in OPEN:
        if not second_self and (it.assignee_id is None or it.assignee_id == who.user_id) \
                and not (it.status == "in_review" and it.assignee_id == who.user_id):
            out.append("claim")
        if it.assignee_id == who.user_id or (who.sees_all and it.assignee_id):
            out.append("unclaim")
        if free:
            if not second_self:
                out.append("approve")
            out += ["reject", "request_changes", "edit"]
    elif it.status == "changes_requested" and free:
        if not second_self:
            out.append("approve")
        out.append("reject")
    if it.status in ACTIVE and (who.sees_all or teams.is_lead(session, it.team_id, who.user_id)
                                or it.assignee_id == who.user_id):
        out.append("reassign")
    out.append("comment")
    return out


def _previous_from_trail(session: Session, it: ReviewItem, current: dict[str, Any]) -> dict[str, Any] | None:
    e = session.scalar(select(ReviewEvent).where(ReviewEvent.item_id == it.id,
                                                 ReviewEvent.action.in_(("edited", "resubmitted")))
                       .order_by(ReviewEvent.id.desc()).limit(1))
    if e is None or not isinstance(e.before, dict):
        return None
    return {**current, **e.before}


def item_detail(session: Session, who: teams.Reviewer, item_id: str, *, mask: bool = False) -> dict[str, Any]:
    it = get_item(session, who, item_id)
    resp = session.get(FormResponse, it.response_id) if it.response_id else None
    labels: dict[str, str] = {}
    order: list[str] = []
    sensitive: set[str] = set()
    response = previous = last = None
    if resp is not None:
        try:
            schema = catalog.schema_of(catalog.find_version(session, resp.form_key))
            for f in catalog.value_fields(schema):
                labels[f.id] = getattr(f, "label", None) or f.id
                order.append(f.id)
            sensitive = {p.split("[*].")[0] for p in schema.sensitive_paths()}
        except NotFound:
            pass
        current = dict(resp.answers or {})
        response = {"id": resp.id, "revision": resp.revision, "status": resp.status, "form_key": resp.form_key,
                    "form_name": resp.form_name, "form_version": resp.form_version, "campaign_id": resp.campaign_id,
                    "request_id": resp.request_id, "recipient": resp.recipient, "submitted_at": resp.submitted_at,
                    "updated_at": resp.updated_at, "answers": current}
        before = form_responses.previous_answers(session, resp)
        if before is not None:
            previous = {"revision": max(1, resp.revision - 1), "values": before}
        old = form_responses.last_period_response(session, resp)
        if old is not None:
            last = {"response_id": old.id, "campaign_id": old.campaign_id, "form_version": old.form_version,
                    "submitted_at": old.submitted_at, "values": dict(old.answers or {})}
    else:
        current = _values(it.data)
        before = _previous_from_trail(session, it, current)
        if before is not None:
            previous = {"revision": it.round, "values": before}
        if it.subject_key:
            old_item = session.scalar(
                select(ReviewItem).where(ReviewItem.queue == it.queue, ReviewItem.subject_key == it.subject_key,
                                         ReviewItem.id != it.id, ReviewItem.created_at < it.created_at)
                .order_by((ReviewItem.status == "approved").desc(), ReviewItem.created_at.desc()).limit(1))
            if old_item is not None:
                last = {"item_id": old_item.id, "status": old_item.status, "created_at": old_item.created_at,
                        "values": _values(old_item.data)}
    prev_values = (previous or {}).get("values") or {}
    last_values = (last or {}).get("values") or {}
    for k in [*current, *prev_values, *last_values]:
        if k not in labels and k not in META_KEYS and not k.startswith("_"):
            labels[k] = k
            order.append(k)
    issues_by_field: dict[str, list[str]] = {}
    general_issues: list[str] = []
    for issue in it.issues or []:
        if isinstance(issue, dict):
            fld, msg = issue.get("field"), str(issue.get("message") or issue.get("rule") or "")
            (issues_by_field.setdefault(str(fld), []) if fld else general_issues).append(msg)
        else:
            general_issues.append(str(issue))
    comments = it.comments or {}
    rows = []
    for k in order:
        value, prev, past = current.get(k), prev_values.get(k), last_values.get(k)
        n_now, n_past = _number(value), _number(past)
        rows.append({
            "field": k, "label": labels.get(k, k), "value": value,
            "previous": prev if previous is not None else None,
            "last_period": past if last is not None else None,
            "changed": previous is not None and prev != value,
            "changed_since_last_period": last is not None and past != value,
            "delta": round(n_now - n_past, 6) if n_now is not None and n_past is not None else None,
            "delta_pct": round((n_now - n_past) / abs(n_past) * 100, 2)
            if n_now is not None and n_past not in (None, 0.0) else None,
            "issues": issues_by_field.get(k, []), "comment": comments.get(k), "sensitive": k in sensitive})
    if mask and sensitive:
        for r in rows:
            if r["sensitive"]:
                for c in ("value", "previous", "last_period"):
                    if r[c] is not None:
                        r[c] = MASK
                r["delta"] = r["delta_pct"] = None
        for block in (response and response["answers"], (previous or {}).get("values"), (last or {}).get("values")):
            if isinstance(block, dict):
                for k in sensitive:
                    if block.get(k) is not None:
                        block[k] = MASK
    return {"item": it, "fields": rows, "general_issues": general_issues, "general_comment": comments.get(GENERAL),
            "response": response, "previous": previous, "last_period": last,
            "comments": comments_of(session, it.id), "actions": actions(session, who, it),
            "masked": sorted(sensitive) if mask else []}
