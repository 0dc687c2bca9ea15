"""Listing a queue with filters and counts, the queues overview, and the metrics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from datacollect.reviews import decisions, metrics, queue
from datacollect.reviews.models import ReviewItem
from datacollect.reviews.queue import Filters, NewItem
from tests.reviews.helpers import add_team, add_user, put


def enqueue(platform: Any, *items: NewItem) -> list[str]:
    with platform.db.write() as s:
        return [d.id for d in queue.enqueue(s, list(items))]


async def test_filters_sorts_and_counts_per_status(platform: Any) -> None:
    ann = add_user(platform, "ann@example.com")
    add_team(platform, "Team", ann)
    low, urgent, flagged, late = enqueue(
        platform,
        NewItem(data={}, team="Team", title="Low Ltd", priority=0, score=1.0),
        NewItem(data={}, team="Team", title="Urgent AG", priority=3, score=0.9),
        NewItem(data={}, team="Team", title="Flagged SA", priority=1, score=0.4,
                issues=[{"field": "co2_t", "message": "far above last year"}]),
        NewItem(data={}, team="Team", title="Late plc", priority=1, sla_seconds=60))
    with platform.db.write() as s:
        an_hour_ago = queue.now() - timedelta(hours=1)
        s.execute(update(ReviewItem).where(ReviewItem.id == late).values(due_at=an_hour_ago, due_order=an_hour_ago,
                                                                         escalate_at=an_hour_ago))
        decisions.approve(s, ann, low)

    def ids(**kw: Any) -> list[str]:
        sort = kw.pop("sort", "priority")
        with platform.db.session() as s:
            rows, _, _ = queue.list_items(s, ann, Filters(**kw), sort=sort)
            return [r.id for r in rows]

    assert ids(status=["pending"]) == [urgent, flagged, late]
    assert ids(status=["pending"], sort="score") == [flagged, urgent, late]
    assert ids(status=["pending"], sort="due") == [late, urgent, flagged]  # the due one first, then by priority
    assert ids(has_issues=True) == [flagged]
    assert ids(has_issues=False, status=["pending"]) == [urgent, late]
    assert ids(overdue=True) == [late]
    assert ids(max_score=0.5) == [flagged]
    assert ids(priority=2) == [urgent]
    assert ids(q="urgent") == [urgent]
    assert ids(status=["approved"]) == [low]
    with platform.db.session() as s:
        _, total, counts = queue.list_items(s, ann, Filters(status=["pending"]))
        assert total == 3 and counts["approved"] == 1 and counts["pending"] == 3
        [q] = queue.queues(s, ann)
    assert (q["team"], q["open"], q["overdue"], q["counts"]["approved"]) == ("Team", 3, 1, 1)


async def test_items_assigned_to_me_and_unassigned(platform: Any) -> None:
    ann, bob = add_user(platform, "ann@example.com"), add_user(platform, "bob@example.com")
    add_team(platform, "Team", ann, bob)
    mine = put(platform, 2, team="Team", assign="user", assignee="ann@example.com")
    free = put(platform, 3, team="Team")
    with platform.db.session() as s:
        assert {r.id for r in queue.list_items(s, ann, Filters(assignee="me"))[0]} == set(mine)
        assert {r.id for r in queue.list_items(s, ann, Filters(assignee="none"))[0]} == set(free)
        assert {r.id for r in queue.list_items(s, bob, Filters(assignee="ann@example.com"))[0]} == set(mine)


async def test_metrics_per_status_times_rates_and_reviewers(platform: Any) -> None:
    ann, bob = add_user(platform, "ann@example.com"), add_user(platform, "bob@example.com")
    add_team(platform, "Team", ann, bob)
    ids = put(platform, 6, team="Team")
    with platform.db.write() as s:
        queue.claim(s, ann, ids[0])
        decisions.approve(s, ann, ids[0])
        decisions.approve(s, ann, ids[1])
        decisions.reject(s, bob, ids[2], "duplicate")
        decisions.request_changes(s, bob, ids[3], {"n": "Which period?"})
        queue.claim(s, bob, ids[4])
    with platform.db.session() as s:
        m = metrics.review_metrics(s, ann)
    assert m["by_status"] == {"pending": 1, "in_review": 1, "approved": 2, "rejected": 1, "changes_requested": 1,
                              "escalated": 0}
    assert (m["decided"], m["approved"], m["rejected"], m["changes_requested"]) == (3, 2, 1, 1)
    assert m["approval_rate"] == round(2 / 3, 4)
    assert m["time_to_first_review"]["count"] == 5 and m["time_to_decision"]["count"] == 3
    assert m["time_to_decision"]["p50"] >= 0
    per = {r["reviewer"]: r for r in m["per_reviewer"]}
    assert (per["ann@example.com"]["approved"], per["ann@example.com"]["decided"]) == (2, 2)
    assert (per["bob@example.com"]["rejected"], per["bob@example.com"]["changes_requested"]) == (1, 1)
    assert per["bob@example.com"]["approval_rate"] == 0.0


async def test_metrics_count_what_was_queued_and_decided_on_each_day_of_the_window(platform: Any) -> None:
    ann = add_user(platform, "ann@example.com")
    add_team(platform, "Team", ann)
    ids = put(platform, 4, team="Team")
    two_days_ago = queue.now() - timedelta(days=2)
    with platform.db.write() as s:  # one item came in two days ago
        s.execute(update(ReviewItem).where(ReviewItem.id == ids[0]).values(created_at=two_days_ago))
        decisions.approve(s, ann, ids[1])
        decisions.reject(s, ann, ids[2], "duplicate")
    with platform.db.session() as s:
        m = metrics.review_metrics(s, ann, Filters(since=queue.now() - timedelta(days=6)))
    days = m["per_day"]
    assert [d["day"] for d in days] == [(queue.now() - timedelta(days=n)).date().isoformat() for n in range(6, -1, -1)]
    today, earlier = days[-1], days[-3]
    assert (today["queued"], today["approved"], today["rejected"], today["changes_requested"]) == (3, 1, 1, 0)
    assert (earlier["queued"], earlier["approved"]) == (1, 0)
    assert sum(d["queued"] for d in days) == 4
