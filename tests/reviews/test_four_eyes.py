"""Four eyes: above a condition an item needs a second approval, and it must come from a
different person, one at a time or at the same moment."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from datacollect.reviews import decisions, queue
from datacollect.reviews.errors import FourEyes
from datacollect.reviews.models import ReviewEvent
from datacollect.reviews.queue import Filters
from tests.reviews.helpers import add_team, add_user, item_row, put
from tests.reviews.test_assignment import in_threads


async def test_the_same_person_cannot_give_both_approvals(platform: Any) -> None:
    ann, bob = add_user(platform, "ann@example.com"), add_user(platform, "bob@example.com")
    add_team(platform, "Team", ann, bob)
    [item_id] = put(platform, 1, team="Team", four_eyes=True)
    with platform.db.write() as s:
        assert decisions.approve(s, ann, item_id, "figures match the invoice") == "first_approval"
    it = item_row(platform, item_id)
    assert (it.status, it.first_approver, it.decision) == ("pending", "ann@example.com", None)
    with platform.db.write() as s, pytest.raises(FourEyes):
        decisions.approve(s, ann, item_id)
    with platform.db.write() as s, pytest.raises(FourEyes):
        queue.claim(s, ann, item_id)
    with platform.db.write() as s:
        assert queue.claim_next(s, ann, Filters()) is None  # nothing ann may take
        assert decisions.approve(s, bob, item_id) == "approved"
    it = item_row(platform, item_id)
    assert (it.status, it.decided_by, it.first_approver) == ("approved", "bob@example.com", "ann@example.com")
    with platform.db.session() as s:
        acts = [(e.action, e.actor) for e in s.scalars(select(ReviewEvent).where(ReviewEvent.item_id == item_id)
                                                      .order_by(ReviewEvent.id))]
    assert acts == [("created", "system"), ("first_approval", "ann@example.com"), ("approved", "bob@example.com")]


async def test_the_second_approval_goes_to_someone_else_in_turn(platform: Any) -> None:
    ann, bob, cid = (add_user(platform, f"{n}@example.com") for n in ("ann", "bob", "cid"))
    add_team(platform, "Team", ann, bob, cid)
    ids = put(platform, 6, team="Team", assign="round_robin", four_eyes=True)
    for item_id in ids:
        first = item_row(platform, item_id).assignee_id
        who = next(p for p in (ann, bob, cid) if p.user_id == first)
        with platform.db.write() as s:
            decisions.approve(s, who, item_id)
        second = item_row(platform, item_id).assignee_id
        assert second is not None and second != first


async def test_a_rejection_needs_no_second_person(platform: Any) -> None:
    ann = add_user(platform, "ann@example.com")
    add_team(platform, "Team", ann)
    [item_id] = put(platform, 1, team="Team", four_eyes=True)
    with platform.db.write() as s:
        decisions.reject(s, ann, item_id, "not signed")
    assert item_row(platform, item_id).status == "rejected"


async def test_two_people_approving_at_the_same_moment_give_one_approval_each(platform: Any) -> None:
    ann, bob = add_user(platform, "ann@example.com"), add_user(platform, "bob@example.com")
    add_team(platform, "Team", ann, bob)
    ids = put(platform, 20, team="Team", four_eyes=True)

    def approve_all(i: int) -> list[str]:
        who = (ann, bob)[i]
        out = []
        for item_id in ids:
            with platform.db.write() as s:
                out.append(decisions.approve(s, who, item_id))
        return out

    a, b = in_threads(2, approve_all)
    for item_id, x, y in zip(ids, a, b, strict=True):
        assert sorted((x, y)) == ["approved", "first_approval"]
        it = item_row(platform, item_id)
        assert it.status == "approved" and it.first_approver != it.decided_by


async def test_bulk_approval_leaves_the_items_the_caller_approved_first(platform: Any) -> None:
    ann, bob = add_user(platform, "ann@example.com"), add_user(platform, "bob@example.com")
    add_team(platform, "Team", ann, bob)
    big = put(platform, 3, team="Team", four_eyes=True)
    small = put(platform, 2, team="Team")
    with platform.db.write() as s:
        out = decisions.bulk_decide(s, ann, "approve", "quarter closed", Filters())
    assert (out["decided"], out["first_approvals"]) == (2, 3)
    with platform.db.write() as s:
        again = decisions.bulk_decide(s, ann, "approve", "quarter closed", Filters())
    assert again["decided"] == 0 and len(again["skipped"]) == 3
    assert {x["id"] for x in again["skipped"]} == set(big)
    with platform.db.write() as s:
        last = decisions.bulk_decide(s, bob, "approve", None, Filters())
    assert last["decided"] == 3
    assert {item_row(platform, i).status for i in big + small} == {"approved"}


async def test_the_review_node_asks_for_four_eyes_above_its_condition(platform: Any) -> None:
    svc = platform.services.extra["reviews"]
    ann = add_user(platform, "ann@example.com")
    add_team(platform, "Team", ann)
    from datacollect.nodes.review import Review
    from tests.nodes.conftest import make_ctx, make_node

    node = make_node(Review, {"team": "Team", "four_eyes_if": "item.co2_t > 1000"}, node_id="review")
    ctx = make_ctx("review", run_id="r-1")
    ctx.services.extra["reviews"] = svc
    out = await node.run(ctx, [{"co2_t": 5000}, {"co2_t": 10}])
    with platform.db.session() as s:
        from datacollect.reviews.models import ReviewItem

        rows = {it.data["co2_t"]: it.approvals_required for it in s.scalars(select(ReviewItem))}
    assert rows == {5000: 2, 10: 1}
    assert out.wait_for == "review:r-1/review/0"
