"""Campaigns: a form sent to recipients, one personal link each, tracked until they answer.

``create_campaign`` writes the campaign and one request per recipient in one transaction;
each request starts ``pending``. Delivery is not done here: the forms service sends what is
due (``claim_due``) right after the commit and on every scheduler tick, so a crash between
the two loses nothing (a request stays due until it is sent).

Links: each mail carries a fresh unguessable token (``<public url>/f/<token>``) of which only
the SHA-256 is stored (``form_links``), so a stored hash can never be turned back into a link
and a reminder simply carries a new link to the same request. Portal delivery mints one link
per request when the campaign is made and answers it once to the caller.

A request moves through these states::

    pending -> sent | bounced -> opened -> draft_saved -> submitted -> approved
                                                     \\-> changes_requested -> submitted
    (any state before submitted) -> overdue (the deadline passed) | delegated (passed on)

``next_action_at`` is when the tick must act on a request next: its first delivery, its next
reminder, or the deadline (to mark it overdue). Reminders are offsets after the invitation
(``"3d"``) or, when negative, before the deadline (``"-1d"``).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from datacollect.db.forms_models import Campaign, FormLink, FormRequest, FormResponse
from datacollect.errors import InvalidInput, NotFound
from datacollect.forms.catalog import schema_for
from datacollect.forms.validation import validate_submission
from datacollect.security.sensitive import mark, paths_of

OPEN_STATES = ("pending", "sent", "opened", "draft_saved", "changes_requested", "bounced")
ANSWERED_STATES = ("submitted", "approved")
STATES = ("pending", "sent", "opened", "draft_saved", "submitted", "changes_requested", "approved",
          "overdue", "bounced", "delegated")
DELIVERIES = ("email", "sms", "portal")


def now() -> datetime:
    return datetime.now(UTC)


def new_token() -> tuple[str, str]:
    """(token, its hash): the token goes in the link, only the hash is stored."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mint_link(session: Session, request_id: str, purpose: str, at: datetime | None = None) -> str:
    """A new token for a request (its hash stored); answers the token."""
    token, digest = new_token()
    session.add(FormLink(token_hash=digest, request_id=request_id, purpose=purpose, created_at=at or now()))
    return token


def parse_offsets(schedule: Iterable[Any]) -> list[float]:
    """``["3d", "7d", "-1d"]`` -> seconds (negative: before the deadline)."""
    from datacollect.nodes.wait import parse_duration

    out = []
    for raw in schedule:
        if isinstance(raw, str) and raw.strip().startswith("-"):
            out.append(-parse_duration(raw.strip()[1:]))
        elif isinstance(raw, (int, float)) and raw < 0:
            out.append(float(raw))
        else:
            out.append(parse_duration(raw))
    return out


def reminder_times(sent_at: datetime, offsets: list[float], deadline: datetime | None) -> list[datetime]:
    times = []
    for s in offsets:
        if s >= 0:
            times.append(sent_at + timedelta(seconds=s))
        elif deadline is not None:
            times.append(deadline + timedelta(seconds=s))
    times = sorted(t for t in times if deadline is None or t < deadline)
    return times


def next_action(req: FormRequest, camp: Campaign, at: datetime) -> datetime | None:
    """When the tick must look at a delivered request again: its next reminder or the deadline."""
    if req.state not in OPEN_STATES or req.state == "pending":
        return None
    if req.sent_at is not None and req.state != "bounced":
        times = reminder_times(req.sent_at, list(camp.reminders or []), camp.deadline)
        later = times[req.reminders_sent:]
        later = [t for t in later if t > (req.last_reminder_at or req.sent_at)]
        if later:
            return max(later[0], at)
    return camp.deadline


def normalise_recipient(raw: Any, index: int, email_field: str = "email") -> dict[str, Any]:
    if isinstance(raw, str):
        raw = {"email": raw.strip()}
    if not isinstance(raw, dict):
        raise InvalidInput(f"Recipient {index + 1} must be an email address or an object with one")
    rec = {k: v for k, v in raw.items() if not str(k).startswith("_")}
    email = rec.get(email_field) if email_field != "email" else rec.get("email")
    if email is None:
        for k in ("email", "mail", "e_mail", "contact_email"):
            if isinstance(rec.get(k), str):
                email = rec[k]
                break
    if email is not None:
        if not isinstance(email, str) or "@" not in email:
            raise InvalidInput(f"Recipient {index + 1}: '{email}' is not an email address")
        rec["email"] = email.strip()
    return rec


def create_campaign(session: Session, form_id: str, recipients: list[Any], *, actor: str,
                    delivery: str = "email", deadline: datetime | None = None,
                    reminder_schedule: Iterable[Any] = (), escalation_owner: str | None = None,
                    prefill: list[dict[str, Any] | None] | dict[str, Any] | None = None,
                    prefill_last_response: bool = False, name: str = "",
                    settings: dict[str, Any] | None = None, origin: dict[str, Any] | None = None,
                    campaign_id: str | None = None, link_days: int = 90, grace_hours: float = 0.0,
                    email_field: str = "email") -> tuple[Campaign, list[tuple[FormRequest, str]]]:
    """Write a campaign and its requests; answers (campaign, [(request, token)])."""
    if campaign_id is not None:
        found = session.get(Campaign, campaign_id)
        if found is not None:  # made before (a retried SendForm activation)
            return found, []
    if delivery not in DELIVERIES:
        raise InvalidInput(f"Unknown delivery '{delivery}'; use email, sms or portal")
    row, schema = schema_for(session, form_id)
    if not recipients:
        raise InvalidInput("There are no recipients to send the form to")
    t = now()
    if deadline is not None:
        if deadline.tzinfo is None:
            deadline = deadline.replace(tzinfo=UTC)
        if deadline <= t:
            raise InvalidInput("The deadline is in the past")
    try:
        offsets = parse_offsets(reminder_schedule)
    except ValueError as exc:
        raise InvalidInput(f"reminder_schedule: {exc}") from None
    people = [normalise_recipient(r, i, email_field) for i, r in enumerate(recipients)]
    for i, p in enumerate(people):
        if delivery == "email" and not p.get("email"):
            raise InvalidInput(f"Recipient {i + 1} has no email address")
        if delivery == "sms" and not (p.get("phone") or p.get("mobile")):
            raise InvalidInput(f"Recipient {i + 1} has no phone number (a 'phone' field) for SMS delivery")
    expires = deadline + timedelta(hours=grace_hours) if deadline else t + timedelta(days=link_days)
    camp = Campaign(id=campaign_id or uuid.uuid4().hex, form_key=row.key, name=name or (schema.title or row.key),
                    status="open", delivery=delivery, deadline=deadline, reminders=offsets,
                    escalation_owner=escalation_owner, settings=dict(settings or {}), origin=origin,
                    waiting=origin is not None, total=len(people), created_at=t, created_by=actor,
                    next_check_at=deadline)
    session.add(camp)
    last = _last_answers(session, row.name, [p.get("email") for p in people]) if prefill_last_response else {}
    out: list[tuple[FormRequest, str]] = []
    rows: list[dict[str, Any]] = []
    portal = delivery == "portal"
    for i, p in enumerate(people):
        values: dict[str, Any] = {}
        if p.get("email") and p["email"].lower() in last:
            values.update(last[p["email"].lower()])
        per = prefill[i] if isinstance(prefill, list) and i < len(prefill) else (
            prefill if isinstance(prefill, dict) else None)
        if per:
            values.update(per)
        rows.append({"id": uuid.uuid4().hex, "campaign_id": camp.id, "form_key": row.key, "recipient": p,
                     "email": p.get("email"), "phone": p.get("phone") or p.get("mobile"),
                     "state": "sent" if portal else "pending", "sent_at": t if portal else None,
                     "expires_at": expires, "prefill": _clean_prefill(schema, values) if values else None,
                     "next_action_at": deadline if portal else t, "created_at": t, "reminders_sent": 0})
    session.flush()  # the campaign first
    sensitive = paths_of(session, row.key)  # Core inserts skip the ORM's sealing: seal here
    if sensitive:
        for r in rows:
            r["prefill"] = mark(r["prefill"], sensitive)
    for i in range(0, len(rows), 2000):  # Core inserts: a campaign of 10,000 is one short transaction
        session.execute(insert(FormRequest), rows[i:i + 2000])
    if portal:
        reqs = {r.id: r for r in session.scalars(select(FormRequest).where(FormRequest.campaign_id == camp.id))}
        out = [(reqs[r["id"]], mint_link(session, r["id"], "portal", t)) for r in rows]
    return camp, out


def _clean_prefill(schema: Any, values: dict[str, Any]) -> dict[str, Any] | None:
    """Only the values the form takes, as the form reads them (a draft-level check)."""
    result = validate_submission(schema, values, partial=True)
    bad = {e["field"].split("[")[0].split(".")[0] for e in result.errors}
    cleaned = {k: v for k, v in result.cleaned.items() if k in values and k not in bad and v not in (None, [])}
    return cleaned or None


def _last_answers(session: Session, form_name: str, emails: list[str | None]) -> dict[str, dict[str, Any]]:
    """The newest answers of each recipient to any version of the form (last period's)."""
    wanted = sorted({e.lower() for e in emails if e})
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i:i + 500]
        q = (select(FormResponse.recipient_email, FormResponse.answers, FormResponse.submitted_at)
             .where(FormResponse.form_name == form_name, func.lower(FormResponse.recipient_email).in_(chunk))
             .order_by(FormResponse.submitted_at))
        for email, answers, _ in session.execute(q):
            out[email.lower()] = answers
    return out


def get_campaign(session: Session, campaign_id: str) -> Campaign:
    camp = session.get(Campaign, campaign_id)
    if camp is None:
        raise NotFound(f"There is no campaign '{campaign_id}'")
    return camp


def counts(session: Session, campaign_id: str) -> dict[str, int]:
    q = select(FormRequest.state, func.count()).where(FormRequest.campaign_id == campaign_id).group_by(
        FormRequest.state)
    found = {s: n for s, n in session.execute(q)}
    return {s: found.get(s, 0) for s in STATES}


def progress(session: Session, campaign_id: str) -> dict[str, int]:
    """How many live requests there are and how many have been answered."""
    c = counts(session, campaign_id)
    expected = sum(n for s, n in c.items() if s != "delegated")
    answered = c["submitted"] + c["approved"] + c["changes_requested"]
    return {"expected": expected, "answered": answered}


def outstanding(session: Session, campaign_id: str, limit: int = 1000, lock: bool = False) -> list[FormRequest]:
    q = (select(FormRequest).where(FormRequest.campaign_id == campaign_id,
                                   FormRequest.state.in_((*OPEN_STATES, "overdue")))
         .order_by(FormRequest.created_at, FormRequest.id).limit(limit))
    if lock:
        q = q.with_for_update()
    return list(session.scalars(q))


def list_campaigns(session: Session, form_key: str | None = None, page: int = 1, page_size: int = 50
                   ) -> tuple[list[Campaign], int]:
    q = select(Campaign)
    if form_key:
        q = q.where(Campaign.form_key == form_key)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(q.order_by(Campaign.created_at.desc()).limit(page_size).offset((page - 1) * page_size))
    return list(rows), total


def claim_due(session: Session, at: datetime, limit: int = 200, lease: float = 300.0) -> list[FormRequest]:
    """Requests whose next action is due, claimed by moving their time ``lease`` seconds on
    (compare-and-set, so two schedulers never act on the same request at once)."""
    due = session.execute(select(FormRequest.id, FormRequest.next_action_at)
                          .where(FormRequest.next_action_at <= at)
                          .order_by(FormRequest.next_action_at).limit(limit)).all()
    claimed = []
    until = at + timedelta(seconds=lease)
    for rid, when in due:
        res = session.execute(update(FormRequest).where(FormRequest.id == rid, FormRequest.next_action_at == when)
                              .values(next_action_at=until).execution_options(synchronize_session=False))
        if res.rowcount:  # type: ignore[attr-defined]
            claimed.append(rid)
    if not claimed:
        return []
    q = select(FormRequest).where(FormRequest.id.in_(claimed)).execution_options(populate_existing=True)
    order = {rid: i for i, rid in enumerate(claimed)}
    return sorted(session.scalars(q), key=lambda r: order[r.id])


def anything_due(session: Session, at: datetime) -> bool:
    """A cheap read: is any request or campaign due (so a write transaction is worth taking)?"""
    req = session.execute(select(FormRequest.id).where(FormRequest.next_action_at <= at).limit(1)).first()
    if req is not None:
        return True
    return session.execute(select(Campaign.id).where(Campaign.next_check_at <= at).limit(1)).first() is not None


def claim_campaign_checks(session: Session, at: datetime, limit: int = 50) -> list[Campaign]:
    rows = list(session.scalars(select(Campaign).where(Campaign.next_check_at <= at).limit(limit)))
    claimed = []
    for c in rows:
        res = session.execute(update(Campaign).where(Campaign.id == c.id, Campaign.next_check_at == c.next_check_at)
                              .values(next_check_at=None).execution_options(synchronize_session=False))
        if res.rowcount:  # type: ignore[attr-defined]
            claimed.append(c)
    return claimed
