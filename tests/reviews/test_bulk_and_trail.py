"""Bulk decisions on 1,000 items in one call, with the workflows waiting on them told; and the
trail: complete, exportable, and refused to be changed or deleted by the database itself."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text, update

from datacollect.errors import InvalidInput
from datacollect.reviews import decisions, queue, trail
from datacollect.reviews.models import ReviewEvent, ReviewItem
from datacollect.reviews.queue import Filters
from datacollect.reviews.teams import Reviewer
from tests.reviews.helpers import add_team, add_user, put


async def test_bulk_approve_of_a_thousand_filtered_items_in_one_call(platform: Any) -> None:
    ann = add_user(platform, "ann@example.com")
    add_team(platform, "Team", ann)
    ids = put(platform, 1000, team="Team", queue="q3")
    others = put(platform, 50, team="Team", queue="other")
    with platform.db.write() as s:
        out = decisions.bulk_decide(s, ann, "approve", "Checked against the ERP totals", Filters(queue="q3"))
    assert (out["matched"], out["decided"], out["skipped"]) == (1000, 1000, [])
    with platform.db.session() as s:
        by = dict(s.execute(select(ReviewItem.queue, func.count()).where(ReviewItem.status == "approved")
                            .group_by(ReviewItem.queue)).all())
        assert by == {"q3": 1000}
        events = list(s.scalars(select(ReviewEvent).where(ReviewEvent.batch_id == out["batch_id"])))
    assert len(events) == 1000 and {e.item_id for e in events} == set(ids)
    assert {(e.action, e.actor, e.reason) for e in events} == {("approved", "ann@example.com",
                                                                "Checked against the ERP totals")}
    assert not set(others) & set(out["ids"])


async def test_bulk_reject_needs_one_reason_and_a_bounded_selection(platform: Any) -> None:
    ann = add_user(platform, "ann@example.com")
    add_team(platform, "Team", ann)
    put(platform, 30, team="Team")
    with platform.db.write() as s, pytest.raises(InvalidInput, match="reason"):
        decisions.bulk_decide(s, ann, "reject", "  ", Filters())
    with platform.db.write() as s, pytest.raises(InvalidInput, match="at most 20"):
        decisions.bulk_decide(s, ann, "reject", "late", Filters(), limit=20)
    with platform.db.write() as s:
        out = decisions.bulk_decide(s, ann, "reject", "late", Filters(ids=None, q="item 1"))
    assert out["decided"] == 11  # item 1, item 10..19


async def test_bulk_leaves_items_someone_else_has(platform: Any) -> None:
    ann, bob = add_user(platform, "ann@example.com"), add_user(platform, "bob@example.com")
    add_team(platform, "Team", ann, bob)
    ids = put(platform, 5, team="Team")
    with platform.db.write() as s:
        queue.claim(s, bob, ids[0])
    with platform.db.write() as s:
        out = decisions.bulk_decide(s, ann, "approve", None, Filters())
    assert out["decided"] == 4 and out["skipped"] == [{"id": ids[0], "reason": "someone else has this item"}]


async def test_the_database_refuses_to_change_or_delete_the_trail(platform: Any) -> None:
    [item_id] = put(platform, 1)
    for stmt in (update(ReviewEvent).values(actor="someone else"), delete(ReviewEvent),
                 text("UPDATE review_events SET reason = 'changed'")):
        with pytest.raises(Exception, match="append-only"), platform.db.write() as s:
            s.execute(stmt)
    with platform.db.session() as s:
        [e] = s.scalars(select(ReviewEvent).where(ReviewEvent.item_id == item_id))
    assert (e.action, e.actor) == ("created", "system")


async def test_every_action_is_in_the_trail_with_before_after_and_why(platform: Any) -> None:
    ann = add_user(platform, "ann@example.com")
    add_team(platform, "Team", ann)
    [item_id] = put(platform, 1, team="Team", data={"co2_t": 10, "unit": "t"})
    with platform.db.write() as s:
        queue.claim(s, ann, item_id)
        decisions.add_comment(s, ann, item_id, "Looks low for a steel plant", field="co2_t")
        decisions.edit(s, ann, item_id, {"co2_t": 10000}, "reported in kg, converted to t")
        decisions.approve(s, ann, item_id, "fine after conversion")
    with platform.db.session() as s:
        rows, total = trail.list_events(s, item_id=item_id, newest_first=False)
        got = [(e.action, e.before, e.after, e.reason) for e in rows]
        exported = b"".join(trail.csv_chunks(trail.iter_events(s, item_id=item_id))).decode("utf-8-sig")
    assert total == 5
    assert got[0][0] == "created" and got[1][0] == "claimed" and got[2][0] == "commented"
    assert got[3] == ("edited", {"co2_t": 10}, {"co2_t": 10000}, "reported in kg, converted to t")
    assert got[4][0] == "approved" and got[4][3] == "fine after conversion"
    lines = list(csv.reader(io.StringIO(exported)))
    assert lines[0] == trail.EXPORT_COLUMNS and [r[5] for r in lines[1:]] == [
        "created", "claimed", "commented", "edited", "approved"]


async def test_a_viewer_cannot_decide_and_sees_only_their_teams(platform: Any) -> None:
    ann = add_user(platform, "ann@example.com")
    vic = add_user(platform, "vic@example.com", "viewer")
    eve = add_user(platform, "eve@example.com")
    add_team(platform, "Team", ann, vic)
    add_team(platform, "Other", eve)
    mine = put(platform, 3, team="Team")
    theirs = put(platform, 2, team="Other")
    with platform.db.session() as s:
        rows, total, counts = queue.list_items(s, vic, Filters())
        assert {r.id for r in rows} == set(mine) and total == 3 and counts["pending"] == 3
        rows, total, _ = queue.list_items(s, eve, Filters())
        assert {r.id for r in rows} == set(theirs)
        admin = Reviewer("x", "admin@example.com", "admin")
        assert queue.list_items(s, admin, Filters())[1] == 5
    for fn, args in ((queue.claim, ()), (decisions.approve, ()), (decisions.reject, ("no",))):
        with platform.db.write() as s, pytest.raises(Exception, match="may not"):
            fn(s, vic, mine[0], *args)
    with platform.db.write() as s, pytest.raises(Exception, match="no review item"):
        decisions.approve(s, ann, theirs[0])
