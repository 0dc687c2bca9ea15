"""Reviews and teams: queues with filters and counts, an item with its values side by side,
claiming, decisions (one and in bulk), comments, the append-only trail, and metrics.

Who may do what: everyone signed in reads the queues of their teams (admins read all);
reviewers and admins decide; admins manage teams and read the global trail. An item the
caller may not see answers 404, as if it did not exist.

* ``GET  /api/reviews/queues``                    queues the caller sees, with counts
* ``GET  /api/reviews/items``                     a page of items with counts per status
* ``POST /api/reviews/items``                     put an item in a queue (integrations, builders)
* ``GET  /api/reviews/items/{id}``                the item, its fields side by side, comments, trail
* ``POST /api/reviews/items/{id}/claim | unclaim | assign``
* ``POST /api/reviews/claim-next``                the most urgent free item, claimed (204: none)
* ``POST /api/reviews/items/{id}/approve | reject | request-changes | edit | resubmit``
* ``GET|POST /api/reviews/items/{id}/comments``
* ``GET  /api/reviews/items/{id}/trail``; ``GET /api/reviews/trail`` (JSON or CSV)
* ``POST /api/reviews/bulk``                      approve or reject a filtered selection
* ``GET  /api/reviews/metrics``
* ``/api/teams`` and ``/api/teams/{team}/members/{user}`` (admins)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from datacollect.api.deps import PlatformDep, Principal, SessionDep, require
from datacollect.errors import InvalidInput, PermissionDenied
from datacollect.reviews import decisions, detail, metrics, queue, teams, trail
from datacollect.reviews.errors import AppendOnly
from datacollect.reviews.models import ReviewComment, ReviewEvent, ReviewItem
from datacollect.reviews.queue import Filters, NewItem
from datacollect.reviews.teams import Reviewer

router = APIRouter(prefix="/api")
Status = Literal["pending", "in_review", "approved", "rejected", "changes_requested", "escalated"]
Sort = Literal["priority", "due", "oldest", "newest", "score", "updated"]


# -- DTOs ----------------------------------------------------------------------------------
class TeamCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    description: str = ""


class TeamUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = None


class MemberWrite(BaseModel):
    role: Literal["member", "lead"] = "member"


class MemberRead(BaseModel):
    user_id: str
    email: str
    name: str
    role: str = Field(description="In the team: member or lead")
    user_role: str = Field(description="The user's role on the platform")
    active: bool
    added_at: datetime


class TeamRead(BaseModel):
    id: str
    name: str
    description: str
    member_count: int
    created_at: datetime
    members: list[MemberRead] | None = None


class TeamPage(BaseModel):
    data: list[TeamRead]
    count: int


class ReviewItemRead(BaseModel):
    id: str
    queue: str
    team_id: str | None
    team: str | None
    status: Status
    priority: int = Field(description="0 low, 1 normal, 2 high, 3 urgent")
    title: str
    subject_key: str | None
    source: str
    score: float | None
    issues: list[Any]
    issue_count: int
    response_id: str | None
    response_revision: int | None
    run_id: str | None
    workflow_id: str | None
    node_id: str | None
    assignment: str
    assignee_id: str | None
    assignee: str | None
    claimed_at: datetime | None
    approvals_required: int
    first_approver: str | None
    first_approved_at: datetime | None
    due_at: datetime | None
    overdue: bool
    escalate_to: str | None
    escalated_at: datetime | None
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    comments: dict[str, Any] | None = Field(description="The per-field comments of the last request for changes "
                                                        "('_general': about the whole item)")
    round: int
    waiting: bool = Field(description="A workflow waits for this item's decision")
    version: int
    created_at: datetime
    updated_at: datetime


class ReviewItemPage(BaseModel):
    data: list[ReviewItemRead]
    count: int
    counts: dict[str, int] = Field(description="Items per status for the same filters, the status filter aside")


class QueueRead(BaseModel):
    queue: str
    team_id: str | None
    team: str | None
    counts: dict[str, int]
    open: int
    overdue: int
    mine: int


class QueuePage(BaseModel):
    data: list[QueueRead]
    count: int


class FieldRow(BaseModel):
    field: str
    label: str
    value: Any = None
    previous: Any = None
    last_period: Any = None
    changed: bool = Field(description="Differs from the previous version")
    changed_since_last_period: bool
    delta: float | None = None
    delta_pct: float | None = None
    issues: list[str]
    comment: str | None
    sensitive: bool


class CommentRead(BaseModel):
    id: int
    at: datetime
    author: str
    author_id: str | None
    field: str | None
    body: str
    kind: str
    round: int


class EventRead(BaseModel):
    id: int
    at: datetime
    item_id: str
    actor: str
    actor_id: str | None
    action: str
    before: Any = None
    after: Any = None
    reason: str | None
    batch_id: str | None


class EventPage(BaseModel):
    data: list[EventRead]
    count: int


class ReviewItemDetail(ReviewItemRead):
    data: dict[str, Any]
    fields: list[FieldRow]
    general_issues: list[str]
    general_comment: str | None
    response: dict[str, Any] | None = Field(description="The form response now (answers, revision, status)")
    previous: dict[str, Any] | None = Field(description="The values before the last change: {revision, values}")
    last_period: dict[str, Any] | None = Field(description="The same recipient's earlier answer: {values, ...}")
    comment_list: list[CommentRead]
    trail: list[EventRead]
    actions: list[str] = Field(description="What the caller may do now: claim, unclaim, approve, reject, "
                                           "request_changes, edit, reassign, comment")


class ItemCreate(BaseModel):
    data: dict[str, Any] = Field(default_factory=dict)
    queue: str = Field("default", min_length=1, max_length=100)
    team: str | None = None
    assign: Literal["team", "user", "round_robin", "least_loaded"] = "team"
    assignee: str | None = None
    priority: str | int = "normal"
    sla: str | float | None = Field(None, description="'2d', '8h', seconds...")
    escalate_to: str | None = None
    four_eyes: bool = False
    title: str = ""
    subject_key: str | None = None
    response_id: str | None = None
    issues: list[Any] = Field(default_factory=list)
    score: float | None = None


class AssignWrite(BaseModel):
    user: str | None = Field(None, description="A user's email or id")
    team: str | None = Field(None, description="A team's name or id")
    strategy: Literal["team", "round_robin", "least_loaded"] | None = None
    reason: str | None = None


class ApproveWrite(BaseModel):
    reason: str | None = None


class RejectWrite(BaseModel):
    reason: str = Field(min_length=1)


class ChangesWrite(BaseModel):
    comments: dict[str, str] = Field(default_factory=dict, description="A comment per field id")
    message: str | None = Field(None, description="About the whole item")


class EditWrite(BaseModel):
    values: dict[str, Any]
    reason: str = Field(min_length=1)


class ResubmitWrite(BaseModel):
    data: dict[str, Any]


class CommentWrite(BaseModel):
    body: str = Field(min_length=1, max_length=10_000)
    field: str | None = None


class UnclaimWrite(BaseModel):
    reason: str | None = None


class DecisionRead(BaseModel):
    outcome: str = Field(description="approved, first_approval, rejected, changes_requested, edited, claimed...")
    item: ReviewItemRead


class ReviewFilter(BaseModel):
    status: list[Status] | None = None
    queue: str | None = None
    team: str | None = None
    assignee: str | None = None
    priority: int | None = None
    overdue: bool | None = None
    awaiting_second: bool | None = None
    has_issues: bool | None = None
    min_score: float | None = None
    max_score: float | None = None
    q: str | None = None
    workflow_id: str | None = None
    run_id: str | None = None
    subject_key: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class BulkWrite(BaseModel):
    action: Literal["approve", "reject"]
    reason: str | None = None
    ids: list[str] | None = Field(None, max_length=decisions.BULK_LIMIT)
    filter: ReviewFilter | None = None


class Skipped(BaseModel):
    id: str
    reason: str


class BulkRead(BaseModel):
    batch_id: str
    action: str
    matched: int
    decided: int
    first_approvals: int
    busy: int = Field(description="Items someone was working on at that moment (PostgreSQL), left as they were")
    skipped: list[Skipped]
    ids: list[str]


class TimeStats(BaseModel):
    count: int
    avg: float | None
    p50: float | None
    p90: float | None
    max: float | None


class ReviewerStats(BaseModel):
    user_id: str | None
    reviewer: str | None
    approved: int
    rejected: int
    changes_requested: int
    first_approval: int
    decided: int
    approval_rate: float | None
    time_to_decision: TimeStats


class DayStats(BaseModel):
    day: str = Field(description="A UTC day, YYYY-MM-DD")
    queued: int
    approved: int
    rejected: int
    changes_requested: int
    first_approval: int


class MetricsRead(BaseModel):
    since: datetime
    until: datetime
    by_status: dict[str, int]
    open: int
    overdue: int
    time_to_first_review: TimeStats = Field(description="Seconds from queued to the first claim or decision")
    time_to_decision: TimeStats = Field(description="Seconds from queued to approved or rejected")
    decided: int
    approved: int
    rejected: int
    changes_requested: int
    approval_rate: float | None
    per_reviewer: list[ReviewerStats]
    per_day: list[DayStats] = Field(description="Each UTC day of the window (the last 366 at most): "
                                                "items queued and decisions taken")


# -- helpers -------------------------------------------------------------------------------
def reviewer(p: Principal) -> Reviewer:
    return Reviewer(p.user_id, p.actor, p.role)


def _item(session: Any, it: ReviewItem, names: dict[str, str] | None = None,
          team_names: dict[str, str] | None = None) -> ReviewItemRead:
    if names is None:
        names = queue.user_names(session, {it.assignee_id})
    if team_names is None:
        team_names = {it.team_id: teams.get_team(session, it.team_id).name} if it.team_id else {}
    issues = list(it.issues or [])
    return ReviewItemRead(
        id=it.id, queue=it.queue, team_id=it.team_id, team=team_names.get(it.team_id or ""), status=it.status,
        priority=it.priority, title=it.title, subject_key=it.subject_key, source=it.source, score=it.score,
        issues=issues, issue_count=it.issue_count, response_id=it.response_id, response_revision=it.response_revision,
        run_id=it.run_id, workflow_id=it.workflow_id, node_id=it.node_id, assignment=it.assignment,
        assignee_id=it.assignee_id, assignee=names.get(it.assignee_id or ""), claimed_at=it.claimed_at,
        approvals_required=it.approvals_required, first_approver=it.first_approver,
        first_approved_at=it.first_approved_at, due_at=it.due_at,
        overdue=bool(it.due_at and it.due_at <= queue.now() and it.status in queue.OPEN),
        escalate_to=it.escalate_to, escalated_at=it.escalated_at, decision=it.decision, decided_by=it.decided_by,
        decided_at=it.decided_at, reason=it.reason, comments=it.comments, round=it.round, waiting=it.waiting,
        version=it.version, created_at=it.created_at, updated_at=it.updated_at)


def _items(session: Any, rows: list[ReviewItem]) -> list[ReviewItemRead]:
    names = queue.user_names(session, {r.assignee_id for r in rows})
    team_names = {t.id: t.name for t, _ in teams.list_teams(session)} if any(r.team_id for r in rows) else {}
    return [_item(session, r, names, team_names) for r in rows]


def _event(e: ReviewEvent, masked: bool = False) -> EventRead:
    d = trail.as_dict(e)
    if masked:
        d["before"] = "***" if d["before"] is not None else None
        d["after"] = "***" if d["after"] is not None else None
    return EventRead(**d)


def _comment(c: ReviewComment) -> CommentRead:
    return CommentRead(id=c.id, at=c.at, author=c.author, author_id=c.author_id, field=c.field, body=c.body,
                       kind=c.kind, round=c.round)


def _filters(status: list[str] | None = None, **kw: Any) -> Filters:
    statuses: list[str] | None = None
    if status:
        statuses = [s for part in status for s in part.split(",") if s]
    return Filters(status=statuses, **kw)


def _tell(platform: Any, ids: list[str], waiting: list[str] | None = None) -> None:
    platform.services.extra["reviews"].after_commit(ids, waiting=waiting)


def _waiting(it: ReviewItem) -> list[str]:
    """The item, when a workflow waits to hear its decision (else nobody to wake)."""
    return [it.id] if it.notify_pending else []


# -- teams ---------------------------------------------------------------------------------
def _team(session: Any, t: Any, count: int, with_members: bool = False) -> TeamRead:
    members = None
    if with_members:
        members = [MemberRead(user_id=u.id, email=u.email, name=u.name, role=m.role, user_role=u.role,
                              active=u.active, added_at=m.added_at) for m, u in teams.members(session, t.id)]
    return TeamRead(id=t.id, name=t.name, description=t.description, member_count=count, created_at=t.created_at,
                    members=members)


@router.get("/teams", response_model=TeamPage, tags=["teams"], operation_id="teams-list")
def list_teams(session: SessionDep, p: Principal = require("reviews:read")) -> TeamPage:
    """All teams for admins; the caller's own teams for everyone else."""
    rows = teams.list_teams(session, None if p.can("users:manage") else p.user_id)
    return TeamPage(data=[_team(session, t, n) for t, n in rows], count=len(rows))


@router.post("/teams", response_model=TeamRead, status_code=201, tags=["teams"], operation_id="teams-create")
def create_team(body: TeamCreate, platform: PlatformDep, p: Principal = require("users:manage")) -> TeamRead:
    with platform.db.write() as s:
        return _team(s, teams.create_team(s, body.name, p.actor, body.description), 0, True)


@router.get("/teams/{team}", response_model=TeamRead, tags=["teams"], operation_id="teams-read")
def read_team(team: str, session: SessionDep, p: Principal = require("reviews:read")) -> TeamRead:
    t = teams.get_team(session, team)
    if not p.can("users:manage") and not teams.is_member(session, t.id, p.user_id):
        raise PermissionDenied("You are not in this team")
    ms = teams.members(session, t.id)
    return _team(session, t, len(ms), True)


@router.patch("/teams/{team}", response_model=TeamRead, tags=["teams"], operation_id="teams-update")
def update_team(team: str, body: TeamUpdate, platform: PlatformDep, p: Principal = require("users:manage")) -> TeamRead:
    with platform.db.write() as s:
        t = teams.update_team(s, team, p.actor, **body.model_dump(exclude_unset=True))
        return _team(s, t, len(teams.members(s, t.id)), True)


@router.delete("/teams/{team}", status_code=204, tags=["teams"], operation_id="teams-delete")
def delete_team(team: str, platform: PlatformDep, p: Principal = require("users:manage")) -> Response:
    with platform.db.write() as s:
        teams.delete_team(s, team, p.actor)
    return Response(status_code=204)


@router.put("/teams/{team}/members/{user}", response_model=TeamRead, tags=["teams"], operation_id="teams-member-put")
def put_member(team: str, user: str, platform: PlatformDep, body: MemberWrite | None = None,
               p: Principal = require("users:manage")) -> TeamRead:
    """Add a user (email or id) to a team, or change their role in it (member, lead)."""
    with platform.db.write() as s:
        m = teams.set_member(s, team, user, p.actor, (body or MemberWrite()).role)
        t = teams.get_team(s, m.team_id)
        return _team(s, t, len(teams.members(s, t.id)), True)


@router.delete("/teams/{team}/members/{user}", status_code=204, tags=["teams"], operation_id="teams-member-delete")
def delete_member(team: str, user: str, platform: PlatformDep, p: Principal = require("users:manage")) -> Response:
    with platform.db.write() as s:
        teams.remove_member(s, team, user, p.actor)
    return Response(status_code=204)


# -- queues and items ----------------------------------------------------------------------
@router.get("/reviews/queues", response_model=QueuePage, tags=["reviews"], operation_id="reviews-queues")
def list_queues(session: SessionDep, p: Principal = require("reviews:read")) -> QueuePage:
    """The queues the caller sees (per queue name and team), with counts per status, how many
    are open, overdue, and assigned to the caller."""
    rows = queue.queues(session, reviewer(p))
    return QueuePage(data=[QueueRead(**r) for r in rows], count=len(rows))


@router.get("/reviews/items", response_model=ReviewItemPage, tags=["reviews"], operation_id="reviews-list")
def list_items(session: SessionDep, p: Principal = require("reviews:read"),
               status: list[str] | None = Query(None, description="One or more (repeat, or separate by commas)"),
               queue_: str | None = Query(None, alias="queue"), team: str | None = None,
               assignee: str | None = Query(None, description="me, none (unassigned), or a user's email or id"),
               priority: int | None = Query(None, ge=0, le=3, description="At least this priority"),
               overdue: bool | None = None, awaiting_second: bool | None = None, has_issues: bool | None = None,
               min_score: float | None = None, max_score: float | None = None,
               q: str | None = Query(None, description="Text in the title or the subject key"),
               response_id: str | None = None, run_id: str | None = None, workflow_id: str | None = None,
               subject_key: str | None = None, since: datetime | None = None, until: datetime | None = None,
               sort: Sort = "priority", page: int = Query(1, ge=1),
               page_size: int = Query(50, ge=1, le=500)) -> ReviewItemPage:
    f = _filters(status, queue=queue_, team=team, assignee=assignee, priority=priority, overdue=overdue,
                 awaiting_second=awaiting_second, has_issues=has_issues, min_score=min_score, max_score=max_score,
                 q=q, response_id=response_id, run_id=run_id, workflow_id=workflow_id, subject_key=subject_key,
                 since=since, until=until)
    rows, total, counts = queue.list_items(session, reviewer(p), f, sort=sort, page=page, page_size=page_size)
    return ReviewItemPage(data=_items(session, rows), count=total, counts=counts)


@router.post("/reviews/items", response_model=ReviewItemRead, status_code=201, tags=["reviews"],
             operation_id="reviews-create")
def create_item(body: ItemCreate, platform: PlatformDep, p: Principal = require("workflows:write")) -> ReviewItemRead:
    """Put an item in a review queue from outside a workflow (an integration, a script)."""
    from datacollect.nodes.wait import parse_duration

    try:
        sla = parse_duration(body.sla) if body.sla is not None else None
    except ValueError as exc:
        raise InvalidInput(f"sla: {exc}") from None
    entry = NewItem(data=body.data, queue=body.queue, team=body.team, assign=body.assign, assignee=body.assignee,
                    priority=queue.priority_of(body.priority), sla_seconds=sla, escalate_to=body.escalate_to,
                    four_eyes=body.four_eyes, title=body.title, subject_key=body.subject_key, issues=body.issues,
                    score=body.score, response_id=body.response_id, source="api")
    with platform.db.write() as s:
        [done] = queue.enqueue(s, [entry], reviewer(p))
        s.flush()
        return _item(s, s.get(ReviewItem, done.id))  # type: ignore[arg-type]


@router.get("/reviews/items/{item_id}", response_model=ReviewItemDetail, tags=["reviews"],
            operation_id="reviews-read")
def read_item(item_id: str, session: SessionDep, p: Principal = require("reviews:read")) -> ReviewItemDetail:
    """The item with its values, the previous version and last period's answer side by side
    (``fields``), its validation issues and comments per field, the comments, the trail, and
    the actions the caller may take now."""
    masked = not p.can("responses:write")
    d = detail.item_detail(session, reviewer(p), item_id, mask=masked)
    it = d["item"]
    data = dict(it.data or {})
    for k in d["masked"]:
        if data.get(k) is not None:
            data[k] = detail.MASK
    events, _ = trail.list_events(session, item_id=it.id, page_size=1000, newest_first=False)
    return ReviewItemDetail(**_item(session, it).model_dump(), data=data, fields=[FieldRow(**r) for r in d["fields"]],
                            general_issues=d["general_issues"], general_comment=d["general_comment"],
                            response=d["response"], previous=d["previous"], last_period=d["last_period"],
                            comment_list=[_comment(c) for c in d["comments"]],
                            trail=[_event(e, masked and bool(d["masked"])) for e in events], actions=d["actions"])


# -- claiming ------------------------------------------------------------------------------
@router.post("/reviews/items/{item_id}/claim", response_model=DecisionRead, tags=["reviews"],
             operation_id="reviews-claim")
def claim(item_id: str, platform: PlatformDep, p: Principal = require("reviews:decide")) -> DecisionRead:
    """Take the item to review it. 409 ``already_taken`` when someone else has it."""
    with platform.db.write() as s:
        it = queue.claim(s, reviewer(p), item_id)
        return DecisionRead(outcome="claimed", item=_item(s, it))


@router.post("/reviews/items/{item_id}/unclaim", response_model=DecisionRead, tags=["reviews"],
             operation_id="reviews-unclaim")
def unclaim(item_id: str, platform: PlatformDep, body: UnclaimWrite | None = None,
            p: Principal = require("reviews:decide")) -> DecisionRead:
    with platform.db.write() as s:
        it = queue.unclaim(s, reviewer(p), item_id, (body or UnclaimWrite()).reason)
        return DecisionRead(outcome="unclaimed", item=_item(s, it))


@router.post("/reviews/claim-next", response_model=DecisionRead, tags=["reviews"], operation_id="reviews-claim-next",
             responses={204: {"description": "Nothing left to review"}})
def claim_next(platform: PlatformDep, p: Principal = require("reviews:decide"),
               queue_: str | None = Query(None, alias="queue"), team: str | None = None) -> Any:
    """Claim the most urgent item the caller may review: the ones assigned to them first, then
    the free ones of their teams. Two reviewers never get the same item."""
    with platform.db.write() as s:
        it = queue.claim_next(s, reviewer(p), Filters(queue=queue_, team=team))
        if it is None:
            return Response(status_code=204)
        return DecisionRead(outcome="claimed", item=_item(s, it))


@router.post("/reviews/items/{item_id}/assign", response_model=DecisionRead, tags=["reviews"],
             operation_id="reviews-assign")
def assign(item_id: str, body: AssignWrite, platform: PlatformDep,
           p: Principal = require("reviews:read")) -> DecisionRead:
    """Reassign to a user, to another team, or within the team by a strategy. Admins, leads of
    the item's team, and the reviewer who has the item may do this."""
    with platform.db.write() as s:
        it = queue.reassign(s, reviewer(p), item_id, user=body.user, team=body.team, strategy=body.strategy,
                            reason=body.reason)
        return DecisionRead(outcome="reassigned", item=_item(s, it))


# -- decisions -----------------------------------------------------------------------------
@router.post("/reviews/items/{item_id}/approve", response_model=DecisionRead, tags=["reviews"],
             operation_id="reviews-approve")
def approve(item_id: str, platform: PlatformDep, body: ApproveWrite | None = None,
            p: Principal = require("reviews:decide")) -> DecisionRead:
    """Approve. With four eyes the first approval answers ``first_approval`` and the item goes
    back to the queue for a second, different person (409 ``four_eyes`` for the same one)."""
    with platform.db.write() as s:
        outcome = decisions.approve(s, reviewer(p), item_id, (body or ApproveWrite()).reason)
        it = s.get(ReviewItem, item_id)  # the decision loaded it: no second read
        assert it is not None
        out, waiting = DecisionRead(outcome=outcome, item=_item(s, it)), _waiting(it)
    _tell(platform, [item_id], waiting)
    return out


@router.post("/reviews/items/{item_id}/reject", response_model=DecisionRead, tags=["reviews"],
             operation_id="reviews-reject")
def reject(item_id: str, body: RejectWrite, platform: PlatformDep,
           p: Principal = require("reviews:decide")) -> DecisionRead:
    with platform.db.write() as s:
        it = decisions.reject(s, reviewer(p), item_id, body.reason)
        out, waiting = DecisionRead(outcome="rejected", item=_item(s, it)), _waiting(it)
    _tell(platform, [item_id], waiting)
    return out


@router.post("/reviews/items/{item_id}/request-changes", response_model=DecisionRead, tags=["reviews"],
             operation_id="reviews-request-changes")
def request_changes(item_id: str, body: ChangesWrite, platform: PlatformDep,
                    p: Principal = require("reviews:decide")) -> DecisionRead:
    """Ask for changes with a comment per field. A form response's personal link reopens with
    the comments; the resubmission comes back to the same reviewer."""
    with platform.db.write() as s:
        it = decisions.request_changes(s, reviewer(p), item_id, body.comments, body.message)
        out, waiting = DecisionRead(outcome="changes_requested", item=_item(s, it)), _waiting(it)
    _tell(platform, [item_id], waiting)
    return out


@router.post("/reviews/items/{item_id}/edit", response_model=DecisionRead, tags=["reviews"],
             operation_id="reviews-edit")
def edit(item_id: str, body: EditWrite, platform: PlatformDep,
         p: Principal = require("reviews:decide")) -> DecisionRead:
    """Change values with a reason; a form response gets a new revision (checked by its form)."""
    with platform.db.write() as s:
        it = decisions.edit(s, reviewer(p), item_id, body.values, body.reason)
        return DecisionRead(outcome="edited", item=_item(s, it))


@router.post("/reviews/items/{item_id}/resubmit", response_model=DecisionRead, tags=["reviews"],
             operation_id="reviews-resubmit")
def resubmit(item_id: str, body: ResubmitWrite, platform: PlatformDep,
             p: Principal = require("workflows:write")) -> DecisionRead:
    """New values for an item waiting for changes (not a form response): back to its reviewer."""
    with platform.db.write() as s:
        it = decisions.resubmit(s, reviewer(p), item_id, body.data)
        return DecisionRead(outcome="resubmitted", item=_item(s, it))


@router.post("/reviews/bulk", response_model=BulkRead, tags=["reviews"], operation_id="reviews-bulk")
def bulk(body: BulkWrite, platform: PlatformDep, p: Principal = require("reviews:decide")) -> BulkRead:
    """Approve or reject every open item of a selection (``ids``, or ``filter``: the listing's
    filters) with one reason, up to 10,000 items in one call."""
    if body.ids is None and body.filter is None:
        raise InvalidInput("Give the items: 'ids', or a 'filter' (use {} for every open item you may decide)")
    fl = body.filter.model_dump() if body.filter else {}
    f = Filters(**{**fl, "status": fl.get("status"), "ids": body.ids})
    with platform.db.write() as s:
        out = decisions.bulk_decide(s, reviewer(p), body.action, body.reason, f)
    _tell(platform, out["ids"])
    return BulkRead(**{k: v for k, v in out.items() if k != "first_approval_ids"})


# -- comments and the trail ----------------------------------------------------------------
@router.get("/reviews/items/{item_id}/comments", response_model=list[CommentRead], tags=["reviews"],
            operation_id="reviews-comments-list")
def list_comments(item_id: str, session: SessionDep, p: Principal = require("reviews:read")) -> list[CommentRead]:
    it = queue.get_item(session, reviewer(p), item_id)
    return [_comment(c) for c in decisions.comments_of(session, it.id)]


@router.post("/reviews/items/{item_id}/comments", response_model=CommentRead, status_code=201, tags=["reviews"],
             operation_id="reviews-comments-create")
def add_comment(item_id: str, body: CommentWrite, platform: PlatformDep,
                p: Principal = require("reviews:decide")) -> CommentRead:
    with platform.db.write() as s:
        return _comment(decisions.add_comment(s, reviewer(p), item_id, body.body, body.field))


@router.get("/reviews/items/{item_id}/trail", response_model=EventPage, tags=["reviews"],
            operation_id="reviews-item-trail")
def item_trail(item_id: str, session: SessionDep, p: Principal = require("reviews:read")) -> EventPage:
    """Every action on the item, oldest first: who, when, what, before, after, why."""
    it = queue.get_item(session, reviewer(p), item_id)
    rows, total = trail.list_events(session, item_id=it.id, page_size=10_000, newest_first=False)
    return EventPage(data=[_event(e, not p.can("responses:write")) for e in rows], count=total)


@router.get("/reviews/trail", response_model=EventPage, tags=["reviews"], operation_id="reviews-trail",
            responses={200: {"content": {"text/csv": {}}}})
def global_trail(session: SessionDep, p: Principal = require("audit:read"), item_id: str | None = None,
                 actor: str | None = None, action: str | None = Query(None, description="One, or several by commas"),
                 batch_id: str | None = None, since: datetime | None = None, until: datetime | None = None,
                 page: int = Query(1, ge=1), page_size: int = Query(100, ge=1, le=1000),
                 format: Literal["json", "csv"] = "json") -> Any:
    """The trail of every review item, newest first (CSV: every matching event, oldest first)."""
    filters = {"item_id": item_id, "actor": actor, "action": action, "batch_id": batch_id, "since": since,
               "until": until}
    if format == "csv":
        return StreamingResponse(trail.csv_chunks(trail.iter_events(session, **filters)),
                                 media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": 'attachment; filename="review-trail.csv"'})
    rows, total = trail.list_events(session, page=page, page_size=page_size, **filters)
    return EventPage(data=[_event(e) for e in rows], count=total)


def _append_only() -> None:
    raise AppendOnly("The review trail is append-only: its entries cannot be changed or deleted")


for _path in ("/reviews/trail/{event_id}", "/reviews/items/{item_id}/trail/{event_id}"):
    router.add_api_route(_path, _append_only, methods=["PUT", "PATCH", "DELETE"], tags=["reviews"],
                         status_code=405, include_in_schema=False)
router.add_api_route("/reviews/items/{item_id}/trail", _append_only, methods=["PUT", "PATCH", "DELETE"],
                     tags=["reviews"], status_code=405, include_in_schema=False)
router.add_api_route("/reviews/trail", _append_only, methods=["PUT", "PATCH", "DELETE"], tags=["reviews"],
                     status_code=405, include_in_schema=False)


# -- metrics -------------------------------------------------------------------------------
@router.get("/reviews/metrics", response_model=MetricsRead, tags=["reviews"], operation_id="reviews-metrics")
def review_metrics(session: SessionDep, p: Principal = require("reviews:read"),
                   queue_: str | None = Query(None, alias="queue"), team: str | None = None,
                   workflow_id: str | None = None,
                   since: datetime | None = Query(None, description="Decided at or after (default: 30 days ago)"),
                   until: datetime | None = None) -> MetricsRead:
    f = Filters(queue=queue_, team=team, workflow_id=workflow_id, since=since, until=until)
    return MetricsRead(**metrics.review_metrics(session, reviewer(p), f))


__all__ = ["router"]
