"""Helpers for review tests: users and teams written straight through the services, items put
in queues in bulk, and a way to wait for a workflow to settle."""

from __future__ import annotations

import asyncio
from typing import Any

from datacollect.reviews import queue, teams
from datacollect.reviews.queue import NewItem
from datacollect.reviews.teams import Reviewer
from datacollect.security.users import create_user
from tests.engine.helpers import run_row

PASSWORD = "correct-horse-battery"


def add_user(platform: Any, email: str, role: str = "reviewer") -> Reviewer:
    with platform.db.write() as s:
        u = create_user(s, email, PASSWORD, role, actor="test")
        return Reviewer(u.id, u.email, u.role)


def add_team(platform: Any, name: str, *members: Reviewer, leads: tuple[Reviewer, ...] = ()) -> str:
    with platform.db.write() as s:
        t = teams.create_team(s, name, "test")
        for m in members:
            teams.set_member(s, t.id, m.user_id or "", "test")
        for m in leads:
            teams.set_member(s, t.id, m.user_id or "", "test", role="lead")
        return t.id


def put(platform: Any, n: int, **kw: Any) -> list[str]:
    data = kw.pop("data", None)
    with platform.db.write() as s:
        done = queue.enqueue(s, [NewItem(data=data or {"n": i, "co2_t": 100 * i}, title=f"item {i}", **kw)
                                 for i in range(n)])
        return [d.id for d in done]


async def settled(platform: Any, run_id: str, status: str = "completed", timeout: float = 15) -> dict[str, Any]:
    for _ in range(int(timeout / 0.05)):
        run = run_row(platform, run_id)
        if run["status"] == status:
            return run
        await asyncio.sleep(0.05)
    raise AssertionError(f"run is {run_row(platform, run_id)['status']}, not {status}")


async def decide(platform: Any, fn: Any, who: Reviewer, item_id: str, *args: Any, **kw: Any) -> Any:
    """Take a decision through the service as the API does: commit, then tell the workflow."""
    with platform.db.write() as s:
        out = fn(s, who, item_id, *args, **kw)
    svc = platform.services.extra["reviews"]
    svc.after_commit([item_id])
    await svc.wait_idle()
    return out


def item_row(platform: Any, item_id: str) -> Any:
    from datacollect.reviews.models import ReviewItem

    with platform.db.session() as s:
        it = s.get(ReviewItem, item_id)
        assert it is not None
        s.expunge(it)
        return it


def items_of_run(platform: Any, run_id: str) -> list[Any]:
    from sqlalchemy import select

    from datacollect.reviews.models import ReviewItem

    with platform.db.session() as s:
        rows = list(s.scalars(select(ReviewItem).where(ReviewItem.run_id == run_id).order_by(ReviewItem.created_at)))
        for r in rows:
            s.expunge(r)
        return rows
