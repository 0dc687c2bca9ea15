"""Review metrics for the dashboard: items per status, time to first review, time to decision,
approval rate, and the same per reviewer, over the items the caller may see.

Times are in seconds (``avg``, ``p50``, ``p90``, ``max``, ``count``). "First review" is the
first claim or decision; "decision" the final one (approved or rejected). The window
(``since``/``until``) applies to when items were decided; counts per status are of now.
``per_day`` has one entry per UTC day of the window (at most the last 366): the items queued
that day and the decisions taken that day (a first approval of four eyes counts apart).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datacollect.reviews.models import ReviewEvent, ReviewItem
from datacollect.reviews.queue import OPEN, STATUSES, Filters, conditions, now
from datacollect.reviews.teams import Reviewer

DECISIONS = ("approved", "rejected", "changes_requested", "first_approval")


def summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "avg": None, "p50": None, "p90": None, "max": None}
    v = sorted(values)

    def pct(p: float) -> float:
        return round(v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))], 3)

    return {"count": len(v), "avg": round(sum(v) / len(v), 3), "p50": pct(0.5), "p90": pct(0.9),
            "max": round(v[-1], 3)}


def review_metrics(session: Session, who: Reviewer, f: Filters | None = None) -> dict[str, Any]:
    f = f or Filters()
    until = f.until or now()
    since = f.since or until - timedelta(days=30)
    scope = conditions(session, who, Filters(**{**f.__dict__, "status": None, "since": None, "until": None}))
    by_status = {s: 0 for s in STATUSES}
    for s, n in session.execute(select(ReviewItem.status, func.count()).where(*scope).group_by(ReviewItem.status)):
        by_status[s] = int(n)
    t = now()
    overdue = sum(session.scalar(select(func.count()).select_from(ReviewItem).where(*scope, late)) or 0
                  for late in (ReviewItem.escalate_at <= t, ReviewItem.status == "escalated"))
    first: list[float] = []
    decided: list[float] = []
    per: dict[str, dict[str, Any]] = {}
    approved = rejected = 0
    q = select(ReviewItem.created_at, ReviewItem.first_reviewed_at).where(
        *scope, ReviewItem.first_reviewed_at >= since, ReviewItem.first_reviewed_at < until)
    for created, first_at in session.execute(q):
        first.append(_seconds(first_at, created))
    q = select(ReviewItem.created_at, ReviewItem.decided_at, ReviewItem.status, ReviewItem.decided_by_id,
               ReviewItem.decided_by).where(*scope, ReviewItem.status.in_(("approved", "rejected")),
                                            ReviewItem.decided_at >= since, ReviewItem.decided_at < until)
    for created, decided_at, status, by_id, by in session.execute(q):
        secs = _seconds(decided_at, created)
        decided.append(secs)
        if status == "approved":
            approved += 1
        else:
            rejected += 1
        key = by_id or by or "?"
        entry = per.setdefault(key, _reviewer(by_id, by))
        entry["_times"].append(secs)
    q = (select(ReviewEvent.actor_id, ReviewEvent.actor, ReviewEvent.action, func.count())
         .join(ReviewItem, ReviewItem.id == ReviewEvent.item_id)
         .where(*scope, ReviewEvent.action.in_(DECISIONS), ReviewEvent.at >= since, ReviewEvent.at < until)
         .group_by(ReviewEvent.actor_id, ReviewEvent.actor, ReviewEvent.action))
    requested = 0
    for actor_id, actor, action, n in session.execute(q):
        entry = per.setdefault(actor_id or actor, _reviewer(actor_id, actor))
        entry[action] = entry.get(action, 0) + int(n)
        if action == "changes_requested":
            requested += int(n)
    reviewers = []
    for entry in per.values():
        times = entry.pop("_times")
        entry["decided"] = entry["approved"] + entry["rejected"]
        entry["approval_rate"] = round(entry["approved"] / entry["decided"], 4) if entry["decided"] else None
        entry["time_to_decision"] = summary(times)
        reviewers.append(entry)
    reviewers.sort(key=lambda e: (-e["decided"], e["reviewer"] or ""))
    total = approved + rejected
    per_day = _per_day(session, scope, since, until)
    return {
        "since": since, "until": until,
        "by_status": by_status,
        "open": sum(by_status[s] for s in OPEN),
        "overdue": int(overdue),
        "time_to_first_review": summary(first),
        "time_to_decision": summary(decided),
        "decided": total, "approved": approved, "rejected": rejected, "changes_requested": requested,
        "approval_rate": round(approved / total, 4) if total else None,
        "per_reviewer": reviewers,
        "per_day": per_day,
    }


def _day(session: Session, col: Any) -> Any:
    """The UTC day of a timestamp column as ``YYYY-MM-DD`` text, on either database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", col), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", col)


def _per_day(session: Session, scope: list[Any], since: datetime, until: datetime) -> list[dict[str, Any]]:
    first = max(since, until - timedelta(days=365))
    days: dict[str, dict[str, Any]] = {}
    d = first.astimezone(UTC).date()
    while d <= until.astimezone(UTC).date():
        days[d.isoformat()] = {"day": d.isoformat(), "queued": 0, **{a: 0 for a in DECISIONS}}
        d += timedelta(days=1)
    day = _day(session, ReviewItem.created_at)
    for key, n in session.execute(select(day, func.count()).where(
            *scope, ReviewItem.created_at >= first, ReviewItem.created_at < until).group_by(day)):
        if key in days:
            days[key]["queued"] = int(n)
    day = _day(session, ReviewEvent.at)
    for key, action, n in session.execute(
            select(day, ReviewEvent.action, func.count()).join(ReviewItem, ReviewItem.id == ReviewEvent.item_id)
            .where(*scope, ReviewEvent.action.in_(DECISIONS), ReviewEvent.at >= first, ReviewEvent.at < until)
            .group_by(day, ReviewEvent.action)):
        if key in days:
            days[key][action] = int(n)
    return list(days.values())


def _reviewer(user_id: str | None, name: str | None) -> dict[str, Any]:
    return {"user_id": user_id, "reviewer": name, "approved": 0, "rejected": 0, "changes_requested": 0,
            "first_approval": 0, "_times": []}


def _seconds(later: datetime | None, earlier: datetime | None) -> float:
    if later is None or earlier is None:
        return 0.0
    return max(0.0, (later - earlier).total_seconds())
