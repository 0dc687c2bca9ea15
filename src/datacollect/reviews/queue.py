"""Review queues: putting items in, listing them, claiming, reassigning, escalating.

An item's status changes only through ``set_status``, which checks the table below::

    pending            -> in_review, approved, rejected, changes_requested, escalated
    in_review          -> pending (unclaimed, first approval), approved, rejected, changes_requested, escalated
    escalated          -> in_review, pending, approved, rejected, changes_requested
    changes_requested  -> pending (resubmitted), approved, rejected
    approved, rejected    final

Claims are compare-and-set updates (``UPDATE ... WHERE assignee_id IS NULL AND status IN
(...)``); ``claim_next`` picks with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has one
writer at a time), so two reviewers never get the same item.

An item that arrives from a workflow for a form response that already has an open item in
the same Review node is the same review: it is not queued twice (see ``enqueue``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session, defer

from datacollect.db.forms_models import FormResponse
from datacollect.db.models import User
from datacollect.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from datacollect.forms.responses import response_item
from datacollect.reviews import assignment, teams, trail
from datacollect.reviews.errors import AlreadyTaken, FourEyes
from datacollect.reviews.models import NO_DUE, ReviewItem, Team
from datacollect.reviews.teams import SYSTEM, Reviewer

STATUSES = ("pending", "in_review", "approved", "rejected", "changes_requested", "escalated")
OPEN = ("pending", "in_review", "escalated")
#: open, or waiting for the respondent: what a decision may still be taken on
ACTIVE = (*OPEN, "changes_requested")
FINAL = ("approved", "rejected")
TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"in_review", "approved", "rejected", "changes_requested", "escalated"}),
    "in_review": frozenset({"pending", "approved", "rejected", "changes_requested", "escalated"}),
    "escalated": frozenset({"in_review", "pending", "approved", "rejected", "changes_requested"}),
    "changes_requested": frozenset({"pending", "approved", "rejected"}),
    "approved": frozenset(),
    "rejected": frozenset(),
}
PRIORITIES = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
#: what items a response carries beside its answers (not shown as changed values)
META_KEYS = frozenset({"response_id", "revision", "recipient", "campaign_id", "submitted_at", "_form", "score",
                       "issues", "_review"})


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


def priority_of(value: Any) -> int:
    """0..3 from a name (low, normal, high, urgent) or a number."""
    if value is None:
        return 1
    if isinstance(value, bool):
        raise InvalidInput("A priority is low, normal, high, urgent or a number from 0 to 3")
    if isinstance(value, (int, float)):
        return max(0, min(3, int(value)))
    text = str(value).strip().lower()
    if text in PRIORITIES:
        return PRIORITIES[text]
    try:
        return max(0, min(3, int(float(text))))
    except ValueError:
        raise InvalidInput(f"'{value}' is not a priority; use low, normal, high, urgent or 0 to 3") from None


def due_times(t: datetime, sla_seconds: float | None) -> dict[str, datetime | None]:
    """An item's SLA from ``t``: when it is due, where it sorts by due date, and its escalation
    timer (the same time; none without an SLA, and the end of time to sort by)."""
    due = t + timedelta(seconds=sla_seconds) if sla_seconds else None
    return {"due_at": due, "due_order": due or NO_DUE, "escalate_at": due}


def set_status(item: ReviewItem, to: str, **values: Any) -> None:
    """The one place an item's status changes: checks the transition, bumps the version."""
    if to != item.status and to not in TRANSITIONS[item.status]:
        raise Conflict(f"This item is {item.status.replace('_', ' ')}; it cannot become {to.replace('_', ' ')}",
                       details={"status": item.status, "to": to})
    item.status = to
    for k, v in values.items():
        setattr(item, k, v)
    item.version = (item.version or 0) + 1
    item.updated_at = now()


# -- putting items in ----------------------------------------------------------------------
@dataclass
class NewItem:
    """One item to put in a queue (from the Review node, the API, or a bench)."""

    data: dict[str, Any]
    queue: str = "default"
    team: str | None = None
    assign: str = "team"
    assignee: str | None = None
    priority: int = 1
    sla_seconds: float | None = None
    escalate_to: str | None = None
    four_eyes: bool = False
    title: str = ""
    subject_key: str | None = None
    issues: list[Any] = field(default_factory=list)
    score: float | None = None
    response_id: str | None = None
    source: str = "workflow"
    run_id: str | None = None
    workflow_id: str | None = None
    node_id: str | None = None
    lane: str | None = None
    origin_key: str | None = None
    wait_key: str | None = None
    on_changes: str = "wait"


@dataclass
class Enqueued:
    """What became of a NewItem: ``created``; ``same`` (a retried activation: its item as it
    is); ``rebound`` (an open item of the same response, now waited for by this activation);
    ``elsewhere`` (an open item of the same response that another activation waits for)."""

    id: str
    status: str
    version: int
    attached: str
    item: ReviewItem | None = None


def _responses(session: Session, ids: list[str]) -> dict[str, FormResponse]:
    out: dict[str, FormResponse] = {}
    for i in range(0, len(ids), 500):
        for resp in session.scalars(select(FormResponse).where(FormResponse.id.in_(ids[i:i + 500]))):
            out[resp.id] = resp
    return out


def enqueue(session: Session, entries: list[NewItem], who: Reviewer = SYSTEM) -> list[Enqueued]:
    """Put items in their queues, assigned by their strategy; one event each. Idempotent by
    ``origin_key``. Many items go in with a few statements (executemany)."""
    t = now()
    out: list[Enqueued | None] = [None] * len(entries)
    fresh: list[int] = []
    keys = [e.origin_key for e in entries if e.origin_key]
    existing: dict[str, ReviewItem] = {}
    for i in range(0, len(keys), 500):
        for it in session.scalars(select(ReviewItem).where(ReviewItem.origin_key.in_(keys[i:i + 500]))):
            existing[it.origin_key or ""] = it
    responses = _responses(session, sorted({e.response_id for e in entries if e.response_id}))
    for n, e in enumerate(entries):
        if e.response_id and e.response_id not in responses:
            raise InvalidInput(f"There is no response '{e.response_id}' to review")
        if e.origin_key and e.origin_key in existing:
            it = existing[e.origin_key]
            out[n] = Enqueued(it.id, it.status, it.version, "same", it)
            continue
        if e.response_id and e.workflow_id and e.node_id:
            it = session.scalar(select(ReviewItem).where(
                ReviewItem.response_id == e.response_id, ReviewItem.workflow_id == e.workflow_id,
                ReviewItem.node_id == e.node_id, ReviewItem.status.in_(ACTIVE)).with_for_update())
            if it is None:  # queued by its form's review settings: this Review step takes it over
                it = session.scalar(select(ReviewItem).where(
                    ReviewItem.response_id == e.response_id, ReviewItem.source == "form",
                    ReviewItem.workflow_id.is_(None), ReviewItem.status.in_(ACTIVE)).with_for_update())
            if it is not None:
                out[n] = _take_over(session, it, e, responses[e.response_id].revision, t)
                continue
        fresh.append(n)
    if fresh:
        _create(session, [entries[n] for n in fresh], responses, who, t, out, fresh)
    return [o for o in out if o is not None]


def _take_over(session: Session, it: ReviewItem, e: NewItem, revision: int, t: datetime) -> Enqueued:
    """The same response came back to the same Review node (a resubmission through the
    workflow's trigger): refresh what is known about it; the activation that comes with it
    waits for the decision unless another one already does."""
    newer = it.response_revision is None or revision >= it.response_revision
    if newer:
        if it.status == "changes_requested":
            reopen(session, it, e.data, revision, SYSTEM, issues=e.issues, score=e.score)
        elif (it.issues or []) != list(e.issues or []) or it.score != e.score \
                or changed_values(it.data or {}, e.data)[1]:
            before = {"issues": it.issues, "score": it.score}
            it.data, it.issues, it.score, it.response_revision = e.data, list(e.issues or []), e.score, revision
            it.issue_count = len(it.issues)
            it.version += 1
            it.updated_at = t
            trail.record(session, it.id, SYSTEM, "refreshed", before, {"issues": it.issues, "score": it.score},
                         reason=f"checked again by run {e.run_id}")
    if it.waiting and it.wait_key and it.wait_key != e.wait_key:
        return Enqueued(it.id, it.status, it.version, "elsewhere", it)
    before = {"run_id": it.run_id, "lane": it.lane}
    it.run_id, it.workflow_id, it.node_id, it.lane = e.run_id, e.workflow_id, e.node_id, e.lane
    it.origin_key, it.wait_key, it.waiting, it.on_changes = e.origin_key, e.wait_key, bool(e.wait_key), e.on_changes
    it.version += 1
    it.updated_at = t
    trail.record(session, it.id, SYSTEM, "rebound", before, {"run_id": it.run_id, "lane": it.lane})
    return Enqueued(it.id, it.status, it.version, "rebound", it)


def _create(session: Session, entries: list[NewItem], responses: dict[str, FormResponse],
            who: Reviewer, t: datetime, out: list[Enqueued | None], slots: list[int]) -> None:
    team_cache: dict[str, str] = {}

    def team_id(name: str | None) -> str | None:
        if not name:
            return None
        if name not in team_cache:
            team_cache[name] = teams.get_team(session, name).id
        return team_cache[name]

    groups: dict[tuple[str, str | None, str | None], list[int]] = {}
    tids: list[str | None] = []
    for i, e in enumerate(entries):
        tid = team_id(e.team)
        tids.append(tid)
        groups.setdefault((e.assign, tid, e.assignee if e.assign == "user" else None), []).append(i)
    assignees: list[str | None] = [None] * len(entries)
    for (strategy, tid, user), idx in groups.items():
        for i, a in zip(idx, assignment.pick_many(session, strategy, tid, len(idx), user=user), strict=True):
            assignees[i] = a
    rows = []
    events = []
    for i, e in enumerate(entries):
        iid = new_id()
        resp = responses.get(e.response_id or "")
        rev, email = (resp.revision, resp.recipient_email) if resp is not None else (None, None)
        if resp is not None and not e.data:  # a response put in a queue by its id: its answers are the values
            e.data = response_item(resp)
        rows.append({
            "id": iid, "queue": e.queue or "default", "team_id": tids[i], "status": "pending",
            "priority": priority_of(e.priority), "title": (e.title or "")[:300],
            "subject_key": (e.subject_key or email or None), "source": e.source, "data": e.data or {},
            "issues": list(e.issues or []), "issue_count": len(e.issues or []), "score": e.score,
            "response_id": e.response_id,
            "response_revision": rev, "run_id": e.run_id, "workflow_id": e.workflow_id, "node_id": e.node_id,
            "lane": e.lane, "origin_key": e.origin_key, "wait_key": e.wait_key, "waiting": bool(e.wait_key),
            "on_changes": e.on_changes, "assignment": e.assign, "assignee_id": assignees[i],
            "claimed_at": None, "first_reviewed_at": None, "approvals_required": 2 if e.four_eyes else 1,
            "first_approver_id": None, "first_approver": None, "first_approved_at": None,
            "sla_seconds": e.sla_seconds, **due_times(t, e.sla_seconds),
            "escalate_to": e.escalate_to, "escalated_at": None,
            "decision": None, "decided_by_id": None,
            "decided_by": None, "decided_at": None, "reason": None, "comments": None, "round": 1,
            # a microsecond apart: the queue keeps the order items came in (oldest first)
            "notify_pending": False, "version": 1, "created_at": t + timedelta(microseconds=i),
            "updated_at": t + timedelta(microseconds=i)})
        events.append(trail.event_row(iid, who, "created", None, {
            "queue": rows[-1]["queue"], "team_id": tids[i], "assignee_id": assignees[i], "assignment": e.assign,
            "priority": rows[-1]["priority"], "due_at": rows[-1]["due_at"],
            "approvals_required": rows[-1]["approvals_required"], "run_id": e.run_id}, at=t))
        out[slots[i]] = Enqueued(iid, "pending", 1, "created")
    for k in range(0, len(rows), 1000):
        session.execute(insert(ReviewItem.__table__), rows[k:k + 1000])
    trail.record_many(session, events)


# -- reading -------------------------------------------------------------------------------
@dataclass
class Filters:
    status: list[str] | None = None
    queue: str | None = None
    team: str | None = None
    #: ``me``, ``none`` (unassigned), or a user's id or email
    assignee: str | None = None
    priority: int | None = None
    overdue: bool | None = None
    awaiting_second: bool | None = None
    has_issues: bool | None = None
    min_score: float | None = None
    max_score: float | None = None
    q: str | None = None
    response_id: str | None = None
    run_id: str | None = None
    workflow_id: str | None = None
    subject_key: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    ids: list[str] | None = None


SORTS = {
    "priority": (ReviewItem.priority.desc(), ReviewItem.created_at, ReviewItem.id),
    "due": (ReviewItem.due_order, ReviewItem.priority.desc(), ReviewItem.id),
    "oldest": (ReviewItem.created_at, ReviewItem.id),
    "newest": (ReviewItem.created_at.desc(), ReviewItem.id),
    "score": (ReviewItem.score.is_(None), ReviewItem.score, ReviewItem.created_at, ReviewItem.id),
    "updated": (ReviewItem.updated_at.desc(), ReviewItem.id),
}


def conditions(session: Session, who: Reviewer, f: Filters, *, with_status: bool = True,
               with_visibility: bool = True) -> list[Any]:
    conds: list[Any] = []
    seen = teams.visible(session, who) if with_visibility else None
    if seen is not None:
        conds.append(seen)
    if with_status and f.status:
        bad = [s for s in f.status if s not in STATUSES]
        if bad:
            raise InvalidInput(f"Unknown status '{bad[0]}'; use {', '.join(STATUSES)}")
        conds.append(ReviewItem.status.in_(f.status))
    if f.queue:
        conds.append(ReviewItem.queue == f.queue)
    if f.team:
        conds.append(ReviewItem.team_id == teams.get_team(session, f.team).id)
    if f.assignee:
        if f.assignee == "me":
            conds.append(ReviewItem.assignee_id == who.user_id)
        elif f.assignee == "none":
            conds.append(ReviewItem.assignee_id.is_(None))
        else:
            conds.append(ReviewItem.assignee_id == teams.find_user(session, f.assignee).id)
    if f.priority is not None:
        conds.append(ReviewItem.priority >= f.priority)
    if f.overdue is not None:
        late = or_(ReviewItem.escalate_at <= now(), ReviewItem.status == "escalated")
        conds.append(late if f.overdue else ~late)
    if f.awaiting_second is not None:
        second = and_(ReviewItem.approvals_required > 1, ReviewItem.first_approver_id.is_not(None),
                      ReviewItem.status.in_(OPEN))
        conds.append(second if f.awaiting_second else ~second)
    if f.has_issues is not None:
        conds.append(ReviewItem.issue_count > 0 if f.has_issues else ReviewItem.issue_count == 0)
    if f.min_score is not None:
        conds.append(ReviewItem.score >= f.min_score)
    if f.max_score is not None:
        conds.append(ReviewItem.score <= f.max_score)
    if f.q:
        like = f"%{f.q.lower().replace('%', '').replace('_', '')}%"
        conds.append(or_(func.lower(ReviewItem.title).like(like), func.lower(ReviewItem.subject_key).like(like)))
    if f.response_id:
        conds.append(ReviewItem.response_id == f.response_id)
    if f.run_id:
        conds.append(ReviewItem.run_id == f.run_id)
    if f.workflow_id:
        conds.append(ReviewItem.workflow_id == f.workflow_id)
    if f.subject_key:
        conds.append(ReviewItem.subject_key == f.subject_key)
    if f.since:
        conds.append(ReviewItem.created_at >= f.since)
    if f.until:
        conds.append(ReviewItem.created_at < f.until)
    if f.ids is not None:
        conds.append(ReviewItem.id.in_(f.ids))
    return conds


def list_items(session: Session, who: Reviewer, f: Filters, *, sort: str = "priority", page: int = 1,
               page_size: int = 50) -> tuple[list[ReviewItem], int, dict[str, int]]:
    """A page of items, how many match, and how many match per status (the status filter
    aside), for the counts beside a queue."""
    if sort not in SORTS:
        raise InvalidInput(f"Unknown sort '{sort}'; use {', '.join(SORTS)}")
    counts = count_by_status(session, who, f)
    conds = conditions(session, who, f)
    total = sum(counts[s] for s in (f.status or STATUSES) if s in counts)
    rows = session.scalars(select(ReviewItem).options(defer(ReviewItem.data)).where(*conds)
                           .order_by(*SORTS[sort]).limit(page_size).offset((page - 1) * page_size))
    return list(rows), total, counts


def count_by_status(session: Session, who: Reviewer, f: Filters) -> dict[str, int]:
    """How many items match per status (the status filter aside), what the caller sees only."""
    base = conditions(session, who, f, with_status=False, with_visibility=False)
    counts = {s: 0 for s in STATUSES}
    for part in teams.visible_parts(session, who) or [None]:
        q = select(ReviewItem.status, func.count()).where(*base, *([part] if part is not None else []))
        for s, n in session.execute(q.group_by(ReviewItem.status)):
            counts[s] += int(n)
    return counts


def queues(session: Session, who: Reviewer) -> list[dict[str, Any]]:
    """Every queue the caller sees, per team, with counts per status and how many are late."""
    seen = teams.visible(session, who)
    conds = [seen] if seen is not None else []
    q = (select(ReviewItem.queue, ReviewItem.team_id, ReviewItem.status, func.count())
         .where(*conds).group_by(ReviewItem.queue, ReviewItem.team_id, ReviewItem.status))
    out: dict[tuple[str, str | None], dict[str, Any]] = {}
    for queue, tid, status, n in session.execute(q):
        entry = out.setdefault((queue, tid), {"queue": queue, "team_id": tid, "counts": {s: 0 for s in STATUSES},
                                              "overdue": 0, "mine": 0})
        entry["counts"][status] = int(n)
    for late_now in (ReviewItem.escalate_at <= now(), ReviewItem.status == "escalated"):  # disjoint
        late = (select(ReviewItem.queue, ReviewItem.team_id, func.count()).where(*conds, late_now)
                .group_by(ReviewItem.queue, ReviewItem.team_id))
        for queue, tid, n in session.execute(late):
            if (queue, tid) in out:
                out[(queue, tid)]["overdue"] += int(n)
    if who.user_id:
        mine = (select(ReviewItem.queue, ReviewItem.team_id, func.count())
                .where(*conds, ReviewItem.status.in_(OPEN), ReviewItem.assignee_id == who.user_id)
                .group_by(ReviewItem.queue, ReviewItem.team_id))
        for queue, tid, n in session.execute(mine):
            if (queue, tid) in out:
                out[(queue, tid)]["mine"] = int(n)
    names = {t.id: t.name for t in session.scalars(select(Team).where(
        Team.id.in_([k[1] for k in out if k[1]])))} if out else {}
    for entry in out.values():
        entry["team"] = names.get(entry["team_id"])
        entry["open"] = sum(entry["counts"][s] for s in OPEN)
    return sorted(out.values(), key=lambda e: (e["queue"], e["team"] or ""))


def get_item(session: Session, who: Reviewer, item_id: str, *, lock: bool = False) -> ReviewItem:
    q = select(ReviewItem).where(ReviewItem.id == item_id)
    if lock:
        q = q.with_for_update()
    it = session.scalar(q)
    if it is None or not teams.can_see(session, who, it):
        raise NotFound(f"There is no review item '{item_id}'")  # the same answer when it is not the caller's
    return it


def user_names(session: Session, ids: set[str | None]) -> dict[str, str]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return {uid: email for uid, email in session.execute(select(User.id, User.email).where(User.id.in_(wanted)))}


# -- claiming and assigning ----------------------------------------------------------------
def _need_decider(who: Reviewer) -> None:
    if not who.may_decide:
        raise PermissionDenied(f"Your role ({who.role}) may not review items")


def claim(session: Session, who: Reviewer, item_id: str) -> ReviewItem:
    """Take an item to review it: it must be free (or already yours). Compare-and-set, so of two
    reviewers claiming at once exactly one gets it."""
    _need_decider(who)
    it = get_item(session, who, item_id)
    if it.first_approver_id and it.first_approver_id == who.user_id:
        raise FourEyes("You gave the first approval of this item; a second, different person must review it")
    t = now()
    done = session.execute(
        update(ReviewItem).where(
            ReviewItem.id == item_id, ReviewItem.status.in_(("pending", "escalated", "in_review")),
            or_(ReviewItem.assignee_id.is_(None), ReviewItem.assignee_id == who.user_id),
            or_(ReviewItem.status != "in_review", ReviewItem.assignee_id == who.user_id),
            or_(ReviewItem.first_approver_id.is_(None), ReviewItem.first_approver_id != who.user_id))
        .values(assignee_id=who.user_id, status="in_review", claimed_at=t, updated_at=t,
                first_reviewed_at=func.coalesce(ReviewItem.first_reviewed_at, t), version=ReviewItem.version + 1)
        .execution_options(synchronize_session=False)).rowcount
    session.expire(it)
    if not done:
        if it.status not in OPEN:
            raise Conflict(f"This item is {it.status.replace('_', ' ')}; there is nothing to claim")
        holder = user_names(session, {it.assignee_id}).get(it.assignee_id or "", "someone else")
        raise AlreadyTaken(f"{holder} has this item already", details={"assignee_id": it.assignee_id})
    trail.record(session, it.id, who, "claimed", {"assignee_id": None}, {"assignee_id": who.user_id})
    return it


def claim_next(session: Session, who: Reviewer, f: Filters | None = None) -> ReviewItem | None:
    """Claim the most urgent free item the caller may review: first those already assigned
    to them, then the free ones of their teams, escalated before pending, each in the queue's
    order (``FOR UPDATE SKIP LOCKED`` on PostgreSQL). Every read follows an index."""
    _need_decider(who)
    f = f or Filters()
    base = conditions(session, who, Filters(**{**f.__dict__, "status": None}), with_visibility=False)
    base.append(or_(ReviewItem.first_approver_id.is_(None), ReviewItem.first_approver_id != who.user_id))
    takeable = ("pending", "escalated")
    mine = session.execute(select(ReviewItem.id, ReviewItem.status, ReviewItem.priority, ReviewItem.created_at)
                           .where(ReviewItem.assignee_id == who.user_id, ReviewItem.status.in_(takeable), *base)
                           .limit(1000)).all()
    for row in sorted(mine, key=lambda r: (r.status != "escalated", -r.priority, r.created_at, r.id)):
        it = _take(session, who, row.id)
        if it is not None:
            return it
    if not who.sees_all:
        team_ids = teams.team_ids_of(session, who.user_id)
        if not team_ids:
            return None
        base.append(ReviewItem.team_id.in_(team_ids))
    pg = session.get_bind().dialect.name == "postgresql"
    for status in ("escalated", "pending"):
        for _ in range(5):
            q = (select(ReviewItem.id).where(ReviewItem.status == status, ReviewItem.assignee_id.is_(None), *base)
                 .order_by(*SORTS["priority"]).limit(1))
            if pg:
                q = q.with_for_update(skip_locked=True)
            item_id = session.scalar(q)
            if item_id is None:
                break
            it = _take(session, who, item_id)
            if it is not None:
                return it
    return None


def _take(session: Session, who: Reviewer, item_id: str) -> ReviewItem | None:
    t = now()
    done = session.execute(
        update(ReviewItem).where(ReviewItem.id == item_id, ReviewItem.status.in_(("pending", "escalated")),
                                 or_(ReviewItem.assignee_id.is_(None), ReviewItem.assignee_id == who.user_id))
        .values(assignee_id=who.user_id, status="in_review", claimed_at=t, updated_at=t,
                first_reviewed_at=func.coalesce(ReviewItem.first_reviewed_at, t), version=ReviewItem.version + 1)
        .execution_options(synchronize_session=False)).rowcount
    if not done:
        return None
    trail.record(session, item_id, who, "claimed", None, {"assignee_id": who.user_id})
    it = session.get(ReviewItem, item_id, populate_existing=True)  # the row as the update left it
    assert it is not None
    return it


def unclaim(session: Session, who: Reviewer, item_id: str, reason: str | None = None) -> ReviewItem:
    it = get_item(session, who, item_id, lock=True)
    if it.assignee_id != who.user_id and not who.sees_all:
        raise AlreadyTaken("Only the reviewer who has the item (or an admin) can give it back")
    if it.status not in OPEN:
        raise Conflict(f"This item is {it.status.replace('_', ' ')}; there is nothing to give back")
    before = {"assignee_id": it.assignee_id, "status": it.status}
    set_status(it, "pending" if it.status == "in_review" else it.status, assignee_id=None, claimed_at=None)
    trail.record(session, it.id, who, "unclaimed", before, {"assignee_id": None, "status": it.status}, reason)
    return it


def reassign(session: Session, who: Reviewer, item_id: str, *, user: str | None = None, team: str | None = None,
             strategy: str | None = None, reason: str | None = None) -> ReviewItem:
    """Give an item to someone else, to another team, or back to its team by a strategy. An
    admin, a lead of the item's team, or the reviewer who has it may do this."""
    it = get_item(session, who, item_id, lock=True)
    if not (who.sees_all or teams.is_lead(session, it.team_id, who.user_id)
            or (who.may_decide and it.assignee_id == who.user_id)):
        raise PermissionDenied("Only an admin, a lead of the item's team, or the reviewer who has the item may "
                               "reassign it")
    if it.status not in ACTIVE:
        raise Conflict(f"This item is {it.status.replace('_', ' ')}; it can no longer be reassigned")
    if user is None and team is None and strategy is None:
        raise InvalidInput("Name a user, a team, or an assignment strategy")
    before = {"assignee_id": it.assignee_id, "team_id": it.team_id, "status": it.status}
    tid = teams.get_team(session, team).id if team else it.team_id
    exclude = [it.first_approver_id] if it.first_approver_id else []
    if user is not None:
        target = assignment.check_reviewer(session, user)
        if target.id in exclude:
            raise FourEyes(f"{target.email} gave the first approval; the second must come from someone else")
        assignee: str | None = target.id
    else:
        assignee = assignment.pick(session, strategy or "team", tid, exclude=exclude)
    status = it.status if it.status in ("changes_requested", "escalated") else "pending"
    set_status(it, status, assignee_id=assignee, team_id=tid, claimed_at=None,
               assignment="user" if user is not None else (strategy or it.assignment))
    trail.record(session, it.id, who, "reassigned", before,
                 {"assignee_id": assignee, "team_id": tid, "status": it.status}, reason)
    return it


# -- escalation ----------------------------------------------------------------------------
def escalate_due(session: Session, at: datetime | None = None, limit: int = 200) -> list[str]:
    """Escalate open items whose SLA has passed: status ``escalated``, priority urgent, and
    given to the item's ``escalate_to`` (a user's email, or a team's name) when it has one.
    The timer is ``escalate_at``, read by its index."""
    at = at or now()
    q = select(ReviewItem).where(ReviewItem.escalate_at <= at).order_by(ReviewItem.escalate_at).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    done = []
    for it in session.scalars(q):
        if it.status not in ("pending", "in_review"):  # nothing to escalate any more: stop the timer
            it.escalate_at = None
            continue
        before = {"status": it.status, "assignee_id": it.assignee_id, "team_id": it.team_id, "priority": it.priority}
        values: dict[str, Any] = {"escalated_at": at, "escalate_at": None, "priority": 3}
        target = (it.escalate_to or "").strip()
        if target:
            try:
                if "@" in target:
                    values["assignee_id"] = assignment.check_reviewer(session, target).id
                    values["claimed_at"] = None
                else:
                    values["team_id"] = teams.get_team(session, target).id
                    values["assignee_id"] = None
                    values["claimed_at"] = None
            except (InvalidInput, NotFound) as exc:  # the target went away: escalate in place, say why
                values["reason"] = f"could not escalate to {target}: {exc.message}"
        set_status(it, "escalated", **values)
        late = (at - it.due_at).total_seconds() if it.due_at else 0
        trail.record(session, it.id, SYSTEM, "escalated", before,
                     {"status": "escalated", "assignee_id": it.assignee_id, "team_id": it.team_id, "priority": 3},
                     reason=values.get("reason") or f"the review was due {it.due_at.isoformat() if it.due_at else ''}"
                                                     f" ({late:.0f} s ago)")
        done.append(it.id)
    return done


# -- resubmissions -------------------------------------------------------------------------
def changed_values(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = sorted(k for k in set(before) | set(after) if k not in META_KEYS and before.get(k) != after.get(k))
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def reopen(session: Session, it: ReviewItem, data: dict[str, Any], revision: int | None, who: Reviewer, *,
           issues: list[Any] | None = None, score: float | None = None) -> None:
    """The respondent answered a request for changes: the item goes back to the same reviewer,
    with the new values, a fresh SLA, and the approvals so far cleared (the values changed)."""
    t = now()
    before, after = changed_values(it.data or {}, data)
    set_status(it, "pending", data=data, response_revision=revision, round=it.round + 1, decision=None,
               decided_by=None, decided_by_id=None, decided_at=None, claimed_at=None, first_approver_id=None,
               first_approver=None, first_approved_at=None, escalated_at=None, issues=list(issues or []),
               issue_count=len(issues or []),
               score=score, **due_times(t, it.sla_seconds))
    trail.record(session, it.id, who, "resubmitted", before, after, reason=f"round {it.round}")
