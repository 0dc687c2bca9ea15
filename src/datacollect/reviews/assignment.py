"""Who gets a review item: the assignment strategies.

* ``user``          a named person (by email or id);
* ``team``          nobody yet: the team's members claim items from the team queue;
* ``round_robin``   the team's reviewers in turn. The turn is a counter on the team row,
                    advanced with one ``UPDATE teams SET rr_counter = rr_counter + n ... RETURNING``,
                    so concurrent assignments never take the same turn;
* ``least_loaded``  the team's reviewer with the fewest open items. The team row is locked
                    (``FOR UPDATE`` on PostgreSQL; SQLite has one writer) while loads are counted,
                    so two assignments at once cannot both see the same person as least loaded.

Only active members whose role may decide (reviewer, admin) are given items. ``exclude``
keeps people out (the first approver, for the second approval of four eyes).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from datacollect.db.models import User
from datacollect.errors import InvalidInput
from datacollect.reviews.models import ReviewItem, Team, TeamMember
from datacollect.security.roles import allowed

STRATEGIES = ("user", "team", "round_robin", "least_loaded")
OPEN = ("pending", "in_review", "escalated")


def reviewers(session: Session, team_id: str) -> list[str]:
    """The user ids of the team's active members who may decide, in a stable order."""
    q = (select(User.id, User.role).join(TeamMember, TeamMember.user_id == User.id)
         .where(TeamMember.team_id == team_id, User.active.is_(True))
         .order_by(TeamMember.added_at, User.id))
    return [uid for uid, role in session.execute(q) if allowed(role, "reviews:decide")]


def check_reviewer(session: Session, user: str) -> User:
    """A user (id or email) who may be given review items."""
    found = session.get(User, user) or session.scalar(select(User).where(User.email == user.strip().lower()))
    if found is None:
        raise InvalidInput(f"There is no user '{user}' to assign the review to")
    if not found.active:
        raise InvalidInput(f"{found.email} is deactivated and cannot be given reviews")
    if not allowed(found.role, "reviews:decide"):
        raise InvalidInput(f"{found.email} is a {found.role} and may not decide reviews; give them the reviewer "
                           "role or choose someone else")
    return found


def _turns(session: Session, team_id: str, n: int) -> list[int]:
    """Take ``n`` consecutive round-robin turns of a team, atomically."""
    end = session.execute(update(Team).where(Team.id == team_id).values(rr_counter=Team.rr_counter + n)
                          .returning(Team.rr_counter)).scalar_one()
    return list(range(int(end) - n, int(end)))


def loads(session: Session, user_ids: Iterable[str]) -> dict[str, int]:
    ids = list(user_ids)
    q = (select(ReviewItem.assignee_id, func.count()).where(ReviewItem.assignee_id.in_(ids),
                                                             ReviewItem.status.in_(OPEN))
         .group_by(ReviewItem.assignee_id))
    found = {uid: int(n) for uid, n in session.execute(q)}
    return {uid: found.get(uid, 0) for uid in ids}


def pick_many(session: Session, strategy: str, team_id: str | None, n: int, *, user: str | None = None,
              exclude: Iterable[str] = ()) -> list[str | None]:
    """Assignees for ``n`` new items of one team by one strategy (None: the team queue)."""
    if strategy not in STRATEGIES:
        raise InvalidInput(f"'{strategy}' is not an assignment; use {', '.join(STRATEGIES)}")
    if strategy == "user":
        if not user:
            raise InvalidInput("Assignment to a user needs the user's email")
        return [check_reviewer(session, user).id] * n
    if team_id is None:
        if strategy != "team":
            raise InvalidInput(f"'{strategy}' assignment needs a team")
        return [None] * n
    if strategy == "team" or n == 0:
        return [None] * n
    skip = set(exclude)
    people = reviewers(session, team_id)
    if not [p for p in people if p not in skip]:
        return [None] * n  # nobody to give it to: it waits in the team queue
    if strategy == "round_robin":
        out: list[str | None] = []
        for turn in _turns(session, team_id, n):
            for k in range(len(people)):
                candidate = people[(turn + k) % len(people)]
                if candidate not in skip:
                    out.append(candidate)
                    break
        return out
    # least_loaded: serialise the team's assignments while loads are counted
    session.execute(select(Team.id).where(Team.id == team_id).with_for_update())
    current = loads(session, [p for p in people if p not in skip])
    order = {p: i for i, p in enumerate(people)}
    chosen: list[str | None] = []
    for _ in range(n):
        who = min(current, key=lambda p: (current[p], order[p]))
        current[who] += 1
        chosen.append(who)
    return chosen


def pick(session: Session, strategy: str, team_id: str | None, *, user: str | None = None,
         exclude: Iterable[str] = ()) -> str | None:
    return pick_many(session, strategy, team_id, 1, user=user, exclude=exclude)[0]
