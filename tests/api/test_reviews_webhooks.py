"""Decisions reach outgoing webhook subscribers as ``review.decided``, once per decision, signed."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api
from tests.integrations.servers import serve
from tests.integrations.test_webhooks_out import Receiver, eventually, subscribe


@pytest.fixture
def db_url() -> None:
    return None  # the hub's own tests cover PostgreSQL


async def test_each_decision_is_published_once_as_review_decided(api: Api) -> None:
    rec = Receiver()
    with serve(rec) as server:
        await subscribe(api, server.url, rec, events=["review.decided"])
        await api.post("/api/teams", json={"name": "Finance"})
        await api.put("/api/teams/Finance/members/reviewer@example.com", json={})
        ids = []
        for title in ("Acme", "Globex"):
            r = await api.post("/api/reviews/items", role="builder", json={"team": "Finance", "title": title})
            ids.append(r.json()["id"])
        await api.post(f"/api/reviews/items/{ids[0]}/approve", role="reviewer", json={"reason": "ok"})
        await api.post(f"/api/reviews/items/{ids[1]}/request-changes", role="reviewer",
                       json={"message": "Which currency?"})
        await api.platform.services.extra["reviews"].wait_idle()
        got = await eventually(lambda: len(rec.got) >= 2 and rec.got)
        assert sorted((g["body"]["data"]["title"], g["body"]["data"]["status"]) for g in got) == [
            ("Acme", "approved"), ("Globex", "changes_requested")]
        assert all(g["event"] == "review.decided" and g["signed"] for g in got)
        approved = next(g for g in got if g["body"]["data"]["title"] == "Acme")["body"]["data"]
        assert (approved["review_id"], approved["decided_by"], approved["reason"]) == (
            ids[0], "reviewer@example.com", "ok")
        assert api.platform.services.extra["reviews"].publish(ids) == 0  # published already: not again
