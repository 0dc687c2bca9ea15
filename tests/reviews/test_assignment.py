"""Each assignment strategy under concurrent claims and assignments, with real threads against
SQLite and PostgreSQL: two reviewers never get the same item, and turns are never taken twice."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select

from datacollect.errors import InvalidInput
from datacollect.reviews import assignment, queue
from datacollect.reviews.errors import AlreadyTaken
from datacollect.reviews.models import ReviewEvent, ReviewItem
from datacollect.reviews.queue import Filters, NewItem
from datacollect.reviews.teams import Reviewer
from tests.reviews.helpers import add_team, add_user, put


def reviewers(platform: Any, n: int, team: str = "Team") -> tuple[list[Reviewer], str]:
    people = [add_user(platform, f"r{i}@example.com") for i in range(n)]
    return people, add_team(platform, team, *people)


def in_threads(n: int, fn: Any) -> list[Any]:
    """Run ``fn(i)`` in ``n`` threads that start together; answers their results in order."""
    gate = threading.Barrier(n)

    def go(i: int) -> Any:
        gate.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(go, range(n)))


def drain(platform: Any, who: Reviewer) -> list[str]:
    """Claim the next item until nothing is left; answers what this reviewer got."""
    got = []
    while True:
        with platform.db.write() as s:
            it = queue.claim_next(s, who)
            if it is None:
                return got
            got.append(it.id)


def states(platform: Any) -> dict[str, tuple[str, str | None]]:
    with platform.db.session() as s:
        return {i: (st, a) for i, st, a in s.execute(select(ReviewItem.id, ReviewItem.status, ReviewItem.assignee_id))}


async def test_team_queue_claimed_by_eight_reviewers_at_once_gives_each_item_to_one(platform: Any) -> None:
    people, _ = reviewers(platform, 8)
    ids = put(platform, 200, team="Team", assign="team")
    got = in_threads(8, lambda i: drain(platform, people[i]))
    every = [x for g in got for x in g]
    assert len(every) == len(set(every)) == 200
    assert set(every) == set(ids)
    final = states(platform)
    for who, mine in zip(people, got, strict=True):
        assert all(final[i] == ("in_review", who.user_id) for i in mine)
    with platform.db.session() as s:
        claims = Counter(s.scalars(select(ReviewEvent.item_id).where(ReviewEvent.action == "claimed")))
    assert set(claims.values()) == {1}


async def test_two_reviewers_claiming_the_same_item_at_once_one_gets_it(platform: Any) -> None:
    people, _ = reviewers(platform, 2)
    ids = put(platform, 40, team="Team")

    def claim_all(i: int) -> list[str]:
        won = []
        for item_id in ids:
            try:
                with platform.db.write() as s:
                    queue.claim(s, people[i], item_id)
                won.append(item_id)
            except AlreadyTaken:
                pass
        return won

    a, b = in_threads(2, claim_all)
    assert sorted(a + b) == sorted(ids) and not set(a) & set(b)


async def test_items_assigned_to_a_user_are_theirs_alone(platform: Any) -> None:
    people, _ = reviewers(platform, 3)
    owner = people[0]
    ids = put(platform, 30, team="Team", assign="user", assignee="r0@example.com")
    assert {a for _, a in states(platform).values()} == {owner.user_id}
    got = in_threads(3, lambda i: drain(platform, people[i]))
    assert sorted(got[0]) == sorted(ids) and got[1] == [] and got[2] == []
    with platform.db.write() as s, pytest.raises(AlreadyTaken):
        queue.claim(s, people[1], ids[0])


async def test_round_robin_takes_turns_under_concurrent_assignment(platform: Any) -> None:
    people, _ = reviewers(platform, 4)

    def enqueue(i: int) -> list[str]:
        out = []
        for k in range(10):  # one transaction per item: 80 assignments race for turns
            with platform.db.write() as s:
                out += [d.id for d in queue.enqueue(s, [NewItem(data={"t": i, "k": k}, team="Team",
                                                                 assign="round_robin")])]
        return out

    in_threads(8, enqueue)
    loads = Counter(a for _, a in states(platform).values())
    assert sorted(loads.values()) == [20, 20, 20, 20]
    got = in_threads(4, lambda i: drain(platform, people[i]))
    assert [len(g) for g in got] == [20, 20, 20, 20]
    final = states(platform)
    assert all(final[i][1] == people[n].user_id for n, g in enumerate(got) for i in g)


async def test_least_loaded_evens_out_concurrent_assignments(platform: Any) -> None:
    people, _ = reviewers(platform, 3)
    put(platform, 6, team="Team", assign="user", assignee="r0@example.com")  # r0 starts busy

    def enqueue(i: int) -> None:
        for k in range(8):
            with platform.db.write() as s:
                queue.enqueue(s, [NewItem(data={"t": i, "k": k}, team="Team", assign="least_loaded")])

    in_threads(6, enqueue)
    loads = Counter(a for _, a in states(platform).values())
    assert sum(loads.values()) == 54
    assert max(loads.values()) - min(loads.values()) <= 1, loads
    got = in_threads(3, lambda i: drain(platform, people[i]))
    every = [x for g in got for x in g]
    assert len(every) == len(set(every)) == 54


async def test_least_loaded_counts_what_people_already_have(platform: Any) -> None:
    people, tid = reviewers(platform, 3)
    put(platform, 3, team="Team", assign="user", assignee="r0@example.com")
    put(platform, 1, team="Team", assign="user", assignee="r1@example.com")
    with platform.db.write() as s:
        picked = assignment.pick_many(s, "least_loaded", tid, 5)
    assert Counter(picked) == {people[2].user_id: 3, people[1].user_id: 2}


async def test_only_active_people_who_may_decide_get_items(platform: Any) -> None:
    ann = add_user(platform, "ann@example.com")
    viewer = add_user(platform, "view@example.com", "viewer")
    tid = add_team(platform, "Team", ann, viewer)
    with platform.db.write() as s:
        assert set(assignment.pick_many(s, "round_robin", tid, 4)) == {ann.user_id}
        with pytest.raises(InvalidInput, match="may not decide"):
            assignment.pick(s, "user", tid, user="view@example.com")
        assert assignment.pick(s, "round_robin", tid, exclude=[ann.user_id or ""]) is None


async def test_reassign_moves_an_item_and_a_lead_may_do_it(platform: Any) -> None:
    ann, bob, lead = (add_user(platform, f"{n}@example.com") for n in ("ann", "bob", "lead"))
    add_team(platform, "Team", ann, bob, leads=(lead,))
    [item_id] = put(platform, 1, team="Team", assign="user", assignee="ann@example.com")
    with platform.db.write() as s:
        it = queue.reassign(s, lead, item_id, user="bob@example.com", reason="Ann is away")
        assert (it.assignee_id, it.status) == (bob.user_id, "pending")
    with platform.db.write() as s, pytest.raises(Exception, match="Only an admin"):
        queue.reassign(s, ann, item_id, user="ann@example.com")
    with platform.db.write() as s:
        queue.unclaim(s, bob, item_id)
        assert drain_one(s, ann) == item_id


def drain_one(s: Any, who: Reviewer) -> str | None:
    it = queue.claim_next(s, who, Filters())
    return it.id if it else None
