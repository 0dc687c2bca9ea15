"""The Review node on the real platform: it queues each item, waits without a worker, and the
run goes on out of the port that matches the decision."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from datacollect.config import Settings
from datacollect.nodes.builtin import NODES
from datacollect.nodes.registry import NodeRegistry
from datacollect.nodes.review import Review
from datacollect.reviews import decisions
from tests.engine.helpers import TEST_NODES, Collect, node, run_row, save, wf
from tests.nodes.conftest import make_node
from tests.reviews.helpers import add_team, add_user, decide, item_row, items_of_run, settled


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Any]:
    from datacollect.platform import Platform

    p = Platform.create(settings, registry=NodeRegistry([*NODES, *TEST_NODES]))
    await p.start(scheduler=False)
    try:
        yield p
    finally:
        await p.stop()


def flow(wid: str, **review: Any) -> dict[str, Any]:
    return wf(wid, [node("start", "ManualTrigger"), node("review", "Review", **review),
                    node("ok", "TestCollect", tag="ok"), node("no", "TestCollect", tag="no"),
                    node("fix", "TestCollect", tag="fix")],
              [("start", "review"), ("review", "ok", "approved"), ("review", "no", "rejected"),
               ("review", "fix", "changes_requested")])


def seen(run_id: str, node_id: str) -> list[dict[str, Any]]:
    return [s for s in Collect.SEEN.get(run_id, []) if s["key"].split("/")[1] == node_id]


async def start(platform: Any, wid: str, items: list[dict[str, Any]], **review: Any) -> str:
    save(platform, flow(wid, **review))
    run_id = await platform.runner.start_run(wid, items)
    assert run_row(platform, run_id)["status"] == "waiting"
    return run_id


async def test_a_run_waits_in_review_and_goes_on_out_of_approved(platform: Any) -> None:
    ann = add_user(platform, "ann@example.com")
    add_team(platform, "Sustainability", ann)
    run_id = await start(platform, "wf-approve", [{"supplier": "Acme", "co2_t": 12.5, "score": 0.9,
                                                   "issues": [{"field": "co2_t", "message": "high"}]}],
                         team="Sustainability", title="{{ item.supplier }}")
    [it] = items_of_run(platform, run_id)
    assert (it.status, it.title, it.queue, it.score, it.waiting) == ("pending", "Acme", "wf-approve", 0.9, True)
    assert it.issues == [{"field": "co2_t", "message": "high"}]
    acts = run_row(platform, run_id)["acts"]
    assert acts[("review", "0")]["status"] == "waiting" and acts[("review", "0")]["leased_by"] is None
    await decide(platform, decisions.approve, ann, it.id, "looks right")
    run = await settled(platform, run_id)
    [got] = seen(run_id, "ok")
    assert got["items"][0]["co2_t"] == 12.5
    assert got["items"][0]["_review"]["decision"] == "approved"
    assert got["items"][0]["_review"]["decided_by"] == "ann@example.com"
    assert seen(run_id, "no") == [] and seen(run_id, "fix") == []
    assert run["acts"][("no", "0")]["status"] == "skipped"
    assert item_row(platform, it.id).notify_pending is False


async def test_a_rejection_goes_out_of_rejected_with_its_reason(platform: Any) -> None:
    ann = add_user(platform, "ann@example.com")
    add_team(platform, "Finance", ann)
    run_id = await start(platform, "wf-reject", [{"supplier": "Acme"}], team="Finance")
    [it] = items_of_run(platform, run_id)
    await decide(platform, decisions.reject, ann, it.id, "figures from the wrong year")
    await settled(platform, run_id)
    [got] = seen(run_id, "no")
    assert got["items"][0]["_review"]["reason"] == "figures from the wrong year"
    assert seen(run_id, "ok") == []


async def test_changes_requested_waits_for_the_resubmission_and_loops_back_to_the_same_reviewer(
        platform: Any) -> None:
    ann = add_user(platform, "ann@example.com")
    bob = add_user(platform, "bob@example.com")
    add_team(platform, "Sustainability", ann, bob)
    run_id = await start(platform, "wf-loop", [{"supplier": "Acme", "co2_t": 5}], team="Sustainability",
                         assign="round_robin")
    [it] = items_of_run(platform, run_id)
    first = it.assignee_id
    who = ann if first == ann.user_id else bob
    await decide(platform, decisions.request_changes, who, it.id, {"co2_t": "Is this in tonnes?"})
    await settled(platform, run_id, "waiting")
    [fix] = seen(run_id, "fix")
    assert fix["lane"].startswith("0.review:") and fix["items"][0]["_review"]["comments"] == {
        "co2_t": "Is this in tonnes?"}
    assert seen(run_id, "ok") == []
    with platform.db.write() as s:
        decisions.resubmit(s, who, it.id, {"co2_t": 5000})
    back = item_row(platform, it.id)
    assert (back.status, back.assignee_id, back.round, back.data["co2_t"]) == ("pending", first, 2, 5000)
    await decide(platform, decisions.approve, who, it.id)
    await settled(platform, run_id)
    [ok] = seen(run_id, "ok")
    assert ok["items"][0]["co2_t"] == 5000 and ok["items"][0]["_review"]["round"] == 2


async def test_changes_requested_can_go_on_at_once(platform: Any) -> None:
    ann = add_user(platform, "ann@example.com")
    add_team(platform, "Sustainability", ann)
    run_id = await start(platform, "wf-continue", [{"supplier": "Acme"}], team="Sustainability",
                         on_changes_requested="continue")
    [it] = items_of_run(platform, run_id)
    await decide(platform, decisions.request_changes, ann, it.id, {}, "Please attach the certificate")
    await settled(platform, run_id)
    [fix] = seen(run_id, "fix")
    assert fix["items"][0]["_review"]["comments"] == {"_general": "Please attach the certificate"}
    assert seen(run_id, "ok") == [] and seen(run_id, "no") == []
    assert item_row(platform, it.id).waiting is False


async def test_several_items_go_on_together_each_out_of_its_port(platform: Any) -> None:
    ann = add_user(platform, "ann@example.com")
    add_team(platform, "Sustainability", ann)
    run_id = await start(platform, "wf-many", [{"supplier": s} for s in ("A", "B", "C")], team="Sustainability")
    a, b, c = items_of_run(platform, run_id)
    by_title = {x.title: x for x in (a, b, c)}
    await decide(platform, decisions.approve, ann, by_title["A"].id)
    await decide(platform, decisions.reject, ann, by_title["B"].id, "no")
    assert run_row(platform, run_id)["status"] == "waiting"
    await decide(platform, decisions.approve, ann, by_title["C"].id)
    await settled(platform, run_id)
    assert [i["supplier"] for i in seen(run_id, "ok")[0]["items"]] == ["A", "C"]
    assert [i["supplier"] for i in seen(run_id, "no")[0]["items"]] == ["B"]


async def test_a_decision_told_twice_moves_the_workflow_once(platform: Any) -> None:
    ann = add_user(platform, "ann@example.com")
    add_team(platform, "Sustainability", ann)
    run_id = await start(platform, "wf-twice", [{"supplier": "A"}, {"supplier": "B"}], team="Sustainability")
    a, b = items_of_run(platform, run_id)
    await decide(platform, decisions.approve, ann, a.id)
    from datacollect.reviews.service import payload

    again = payload(item_row(platform, a.id))
    await platform.runner.deliver_event(f"review:{run_id}/review/0", again)  # the same event once more
    assert run_row(platform, run_id)["status"] == "waiting"
    await decide(platform, decisions.approve, ann, b.id)
    await settled(platform, run_id)
    assert [i["supplier"] for i in seen(run_id, "ok")[0]["items"]] == ["A", "B"]


async def test_a_retried_activation_finds_its_items_and_queues_nothing_twice(platform: Any) -> None:
    ann = add_user(platform, "ann@example.com")
    add_team(platform, "Sustainability", ann)
    svc = platform.services.extra["reviews"]
    entry = {"data": {"x": 1}, "queue": "q", "team": "Sustainability", "origin_key": "run/review/0/0",
             "wait_key": "review:run/review/0"}
    first = svc.enqueue([entry])
    again = svc.enqueue([entry])
    assert first[0]["id"] == again[0]["id"] and (first[0]["attached"], again[0]["attached"]) == ("created", "same")


def test_the_node_checks_its_settings_at_save_time() -> None:
    assert make_node(Review, {"assign": "user"}).check() == ["'assign: user' needs the reviewer's email in 'assignee'"]
    assert make_node(Review, {"assign": "round_robin"}).check() == ["'assign: round_robin' needs a team"]
    assert make_node(Review, {"priority": "item.co2_t > 5 and 'high' or 'low'"}).check() == []
    assert make_node(Review, {"priority": "item.co2_t >"}).check()
    with pytest.raises(Exception, match="duration"):
        make_node(Review, {"sla": "soon"})


async def test_a_cancelled_run_leaves_its_items_reviewable_but_waited_for_by_nobody(platform: Any) -> None:
    ann = add_user(platform, "ann@example.com")
    add_team(platform, "Sustainability", ann)
    run_id = await start(platform, "wf-cancel", [{"supplier": "Acme"}], team="Sustainability")
    [it] = items_of_run(platform, run_id)
    platform.runner.cancel_run(run_id)
    after = item_row(platform, it.id)
    assert (after.status, after.waiting) == ("pending", False)
    await decide(platform, decisions.approve, ann, it.id)
    assert item_row(platform, it.id).notify_pending is False and seen(run_id, "ok") == []


async def test_values_edited_in_review_go_on_down_the_workflow(platform: Any) -> None:
    ann = add_user(platform, "ann@example.com")
    add_team(platform, "Sustainability", ann)
    run_id = await start(platform, "wf-edit", [{"supplier": "Acme", "co2_t": 12000, "unit": "kg"}],
                         team="Sustainability")
    [it] = items_of_run(platform, run_id)
    with platform.db.write() as s:
        decisions.edit(s, ann, it.id, {"co2_t": 12, "unit": "t"}, "reported in kg")
    await decide(platform, decisions.approve, ann, it.id)
    await settled(platform, run_id)
    [ok] = seen(run_id, "ok")
    assert (ok["items"][0]["co2_t"], ok["items"][0]["unit"]) == (12, "t")
