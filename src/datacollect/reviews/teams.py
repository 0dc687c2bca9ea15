"""Teams, who is in them, and which review items a person may see.

A team shares review queues. Members are ``member`` or ``lead`` (a lead may reassign the
team's items). Admins see every queue; anyone else sees the items of their teams and the
items assigned to them by name. Every change to a team is in the audit log.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from datacollect.db.models import User
from datacollect.errors import Conflict, InvalidInput, NotFound
from datacollect.reviews.models import ReviewItem, Team, TeamMember
from datacollect.security import audit
from datacollect.security.roles import allowed

TEAM_ROLES = ("member", "lead")


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Reviewer:
    """Who acts on review items: a signed-in user, or the platform itself (``user_id`` None)."""

    user_id: str | None
    name: str
    role: str

    @property
    def sees_all(self) -> bool:
        return self.role == "admin"

    @property
    def may_decide(self) -> bool:
        return allowed(self.role, "reviews:decide")


SYSTEM = Reviewer(None, "system", "admin")


# -- teams ---------------------------------------------------------------------------------
def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise InvalidInput("A team needs a name of 1 to 120 characters")
    return name


def create_team(session: Session, name: str, actor: str, description: str = "") -> Team:
    name = _check_name(name)
    if session.scalar(select(Team).where(func.lower(Team.name) == name.lower())):
        raise Conflict(f"A team named '{name}' exists already")
    team = Team(id=uuid.uuid4().hex, name=name, description=description or "", rr_counter=0, created_at=now(),
                created_by=actor)
    session.add(team)
    session.flush()
    audit.record(session, actor, "team.create", "team", team.id, after={"name": name})
    return team


def get_team(session: Session, team: str) -> Team:
    """A team by id or by name (names are unique, case-insensitively)."""
    found = session.get(Team, team) or session.scalar(select(Team).where(func.lower(Team.name) == team.lower()))
    if found is None:
        raise NotFound(f"There is no team '{team}'")
    return found


def update_team(session: Session, team: str, actor: str, *, name: str | None = None,
                description: str | None = None) -> Team:
    t = get_team(session, team)
    before = {"name": t.name, "description": t.description}
    if name is not None:
        name = _check_name(name)
        other = session.scalar(select(Team).where(func.lower(Team.name) == name.lower(), Team.id != t.id))
        if other is not None:
            raise Conflict(f"A team named '{name}' exists already")
        t.name = name
    if description is not None:
        t.description = description
    audit.record(session, actor, "team.update", "team", t.id, before=before,
                 after={"name": t.name, "description": t.description})
    return t


def delete_team(session: Session, team: str, actor: str) -> None:
    t = get_team(session, team)
    open_items = session.scalar(select(func.count()).select_from(ReviewItem).where(
        ReviewItem.team_id == t.id, ReviewItem.status.in_(("pending", "in_review", "escalated",
                                                            "changes_requested")))) or 0
    if open_items:
        raise Conflict(f"The team '{t.name}' still has {open_items} open review items; move them to another "
                       "team first")
    audit.record(session, actor, "team.delete", "team", t.id, before={"name": t.name})
    session.delete(t)


def list_teams(session: Session, user_id: str | None = None) -> list[tuple[Team, int]]:
    """Teams with their member counts; with ``user_id``, only the teams that user is in."""
    counts = (select(TeamMember.team_id, func.count().label("n")).group_by(TeamMember.team_id).subquery())
    q = select(Team, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.team_id == Team.id)
    if user_id is not None:
        q = q.where(Team.id.in_(select(TeamMember.team_id).where(TeamMember.user_id == user_id)))
    return [(t, int(n)) for t, n in session.execute(q.order_by(Team.name))]


# -- members -------------------------------------------------------------------------------
def members(session: Session, team_id: str) -> list[tuple[TeamMember, User]]:
    q = (select(TeamMember, User).join(User, User.id == TeamMember.user_id)
         .where(TeamMember.team_id == team_id).order_by(TeamMember.added_at, User.email))
    return [(m, u) for m, u in session.execute(q)]


def _user(session: Session, user: str) -> User:
    found = session.get(User, user) or session.scalar(select(User).where(User.email == user.strip().lower()))
    if found is None:
        raise NotFound(f"There is no user '{user}'")
    return found


def find_user(session: Session, user: str) -> User:
    """A user by id or email."""
    return _user(session, user)


def set_member(session: Session, team: str, user: str, actor: str, role: str = "member") -> TeamMember:
    if role not in TEAM_ROLES:
        raise InvalidInput(f"'{role}' is not a team role; use member or lead")
    t = get_team(session, team)
    u = _user(session, user)
    m = session.get(TeamMember, (t.id, u.id))
    before = {"role": m.role} if m else None
    if m is None:
        m = TeamMember(team_id=t.id, user_id=u.id, role=role, added_at=now())
        session.add(m)
    else:
        m.role = role
    audit.record(session, actor, "team.member", "team", t.id, before=before,
                 after={"user": u.email, "role": role})
    return m


def remove_member(session: Session, team: str, user: str, actor: str) -> None:
    t = get_team(session, team)
    u = _user(session, user)
    m = session.get(TeamMember, (t.id, u.id))
    if m is None:
        raise NotFound(f"{u.email} is not in the team '{t.name}'")
    session.delete(m)
    audit.record(session, actor, "team.member.remove", "team", t.id, before={"user": u.email, "role": m.role})


def team_ids_of(session: Session, user_id: str | None) -> list[str]:
    if user_id is None:
        return []
    return list(session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id)))


def is_lead(session: Session, team_id: str | None, user_id: str | None) -> bool:
    if team_id is None or user_id is None:
        return False
    m = session.get(TeamMember, (team_id, user_id))
    return m is not None and m.role == "lead"


def is_member(session: Session, team_id: str | None, user_id: str | None) -> bool:
    return team_id is not None and user_id is not None and session.get(TeamMember, (team_id, user_id)) is not None


# -- visibility ----------------------------------------------------------------------------
def visible_parts(session: Session, who: Reviewer) -> list[ColumnElement[bool]] | None:
    """What ``who`` may see, as disjoint conditions on ``review_items`` (None: everything): the
    items of their teams, and the items assigned to them outside their teams. Counts add up
    the parts, each read from an index of its own."""
    if who.sees_all:
        return None
    if who.user_id is None:
        return [false()]
    teams = team_ids_of(session, who.user_id)
    if not teams:
        return [ReviewItem.assignee_id == who.user_id]
    return [ReviewItem.team_id.in_(teams),
            and_(ReviewItem.assignee_id == who.user_id,
                 or_(ReviewItem.team_id.is_(None), ReviewItem.team_id.not_in(teams)))]


def visible(session: Session, who: Reviewer) -> ColumnElement[bool] | None:
    """The condition on ``review_items`` of what ``who`` may see (None: everything)."""
    parts = visible_parts(session, who)
    return None if parts is None else or_(*parts)


def can_see(session: Session, who: Reviewer, item: ReviewItem) -> bool:
    if who.sees_all:
        return True
    if who.user_id is not None and item.assignee_id == who.user_id:
        return True
    return is_member(session, item.team_id, who.user_id)
