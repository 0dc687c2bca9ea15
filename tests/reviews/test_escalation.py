"""SLA escalation by the scheduler's timer: an item not decided in time is escalated to a
person or a team, also when its time passed while the platform was down."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from datacollect.config import Settings
from datacollect.platform import Platform
from datacollect.reviews import decisions, queue
from datacollect.reviews.models import ReviewEvent
from datacollect.reviews.queue import Filters
from tests.reviews.helpers import add_team, add_user, item_row, put


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[Platform]:
    p = Platform.create(settings)
    await p.start(scheduler=True)
    try:
        yield p
    finally:
        await p.stop()


async def until(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_an_item_past_its_sla_is_escalated_to_the_named_person(running: Platform) -> None:
    ann, boss = add_user(running, "ann@example.com"), add_user(running, "boss@example.com")
    add_team(running, "Team", ann)
    [late] = put(running, 1, team="Team", assign="user", assignee="ann@example.com", sla_seconds=0.3,
                 escalate_to="boss@example.com")
    [later] = put(running, 1, team="Team", sla_seconds=3600)
    with running.db.write() as s:
        queue.claim(s, ann, late)
    assert item_row(running, late).status == "in_review"
    await until(lambda: item_row(running, late).status == "escalated")
    it = item_row(running, late)
    assert (it.assignee_id, it.priority) == (boss.user_id, 3) and it.escalated_at >= it.due_at
    assert item_row(running, later).status == "pending"
    with running.db.session() as s:
        [e] = s.scalars(select(ReviewEvent).where(ReviewEvent.item_id == late, ReviewEvent.action == "escalated"))
    assert e.actor == "system" and e.before["assignee_id"] == ann.user_id and "due" in (e.reason or "")
    with running.db.write() as s:  # the person it went to decides it
        assert decisions.approve(s, boss, late) == "approved"


async def test_an_item_is_escalated_to_another_team(running: Platform) -> None:
    ann, lead = add_user(running, "ann@example.com"), add_user(running, "lead@example.com")
    add_team(running, "Team", ann)
    add_team(running, "Leads", lead)
    [item_id] = put(running, 1, team="Team", sla_seconds=0.2, escalate_to="Leads")
    await until(lambda: item_row(running, item_id).status == "escalated")
    with running.db.write() as s:
        got = queue.claim_next(s, lead, Filters())
        assert got is not None and got.id == item_id


async def test_a_due_time_that_passed_while_the_platform_was_down_is_escalated_at_start(
        settings: Settings) -> None:
    p = Platform.create(settings)
    await p.start(scheduler=False)
    ann = add_user(p, "ann@example.com")
    add_team(p, "Team", ann)
    [item_id] = put(p, 1, team="Team", sla_seconds=0.1)
    await p.stop()
    await asyncio.sleep(0.3)
    assert item_row(Platform.create(settings), item_id).status == "pending"
    again = Platform.create(settings)
    await again.start(scheduler=True)
    try:
        await until(lambda: item_row(again, item_id).status == "escalated")
    finally:
        await again.stop()


async def test_a_resubmission_gets_a_fresh_sla(running: Platform) -> None:
    ann = add_user(running, "ann@example.com")
    add_team(running, "Team", ann)
    [item_id] = put(running, 1, team="Team", sla_seconds=3600)
    with running.db.write() as s:
        decisions.request_changes(s, ann, item_id, {"n": "wrong"})
    before = item_row(running, item_id).due_at
    with running.db.write() as s:
        decisions.resubmit(s, ann, item_id, {"n": 7})
    it = item_row(running, item_id)
    assert it.status == "pending" and it.due_at > before and it.assignee_id == ann.user_id
