"""The engine's semantics (DESIGN §6), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.engine.helpers import CALLS, Collect, Slow, node, run_row, save, wf


async def settle(platform, run_id: str, timeout: float = 10.0) -> dict:
    """Tick the scheduler's work by hand until the run settles (no background scheduler)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        ids = platform.runner.wake_due()
        if ids:
            await platform.runner.execute(ids)
        await platform.dispatcher.drain(0.5)
        r = run_row(platform, run_id)
        if r["status"] in ("completed", "failed", "cancelled") or (
                r["status"] == "waiting" and not any(a["wake_at"] for a in r["acts"].values())):
            return r
        await asyncio.sleep(0.02)
    return run_row(platform, run_id)


def status_of(r: dict) -> dict[tuple[str, str], str]:
    return {k: a["status"] for k, a in r["acts"].items()}


async def test_a_linear_run_stores_each_node_with_input_output_attempts_and_timing(platform):
    save(platform, wf("lin", [node("start", "ManualTrigger"), node("calc", "Calculator", formula="item.a * 2",
                                                                   output_field="b")], [("start", "calc")]))
    rid = await platform.runner.start_run("lin", [{"a": 2}])
    r = run_row(platform, rid)
    assert r["status"] == "completed" and r["finished_at"] is not None
    calc = r["acts"][("calc", "0")]
    assert calc["input"] == [{"a": 2}]
    assert calc["output"] == {"main": [{"a": 2, "b": 4}]}
    assert calc["attempts"] == 1 and calc["duration_ms"] is not None and calc["item_count"] == 1


async def test_skipped_branch_after_conditional_does_not_run_and_the_run_completes(platform):
    save(platform, wf("branch", [
        node("start", "ManualTrigger"),
        node("validate_1", "DataValidator", rules=[{"type": "range", "field": "co2", "min": 0, "max": 100}]),
        node("branch_1", "Conditional", condition="validate_1.score > 0.8"),
        node("export", "TestCollect"), node("after_export", "TestCollect"), node("flag", "TestCollect")],
        [("start", "validate_1"), ("validate_1", "branch_1"), ("branch_1", "export", "true"),
         ("export", "after_export"), ("branch_1", "flag", "false")]))
    ok = run_row(platform, await platform.runner.start_run("branch", [{"co2": 50}]))
    assert ok["status"] == "completed"
    assert status_of(ok)[("export", "0")] == "completed"
    assert status_of(ok)[("flag", "0")] == "skipped"
    bad = run_row(platform, await platform.runner.start_run("branch", [{"co2": 5000}]))
    assert bad["status"] == "completed"
    assert status_of(bad)[("export", "0")] == "skipped"
    assert status_of(bad)[("after_export", "0")] == "skipped"
    assert status_of(bad)[("flag", "0")] == "completed"
    assert bad["id"] not in Collect.SEEN or all(s["key"].split("/")[1] == "flag" for s in Collect.SEEN[bad["id"]])


async def test_a_join_waits_for_both_inputs_and_gets_the_merged_items(platform):
    save(platform, wf("join", [node("start", "ManualTrigger"),
                               node("left", "Calculator", formula="1", output_field="side"),
                               node("right", "Calculator", formula="2", output_field="side"),
                               node("both", "TestCollect")],
                      [("start", "left"), ("start", "right"), ("left", "both"), ("right", "both")]))
    r = run_row(platform, await platform.runner.start_run("join", [{"x": 1}]))
    both = r["acts"][("both", "0")]
    assert both["status"] == "completed"
    assert sorted(i["side"] for i in both["input"]) == [1, 2]
    assert both["attempts"] == 1


async def test_each_emission_runs_the_rest_of_the_graph_in_its_own_lane(platform):
    save(platform, wf("lanes", [node("start", "ManualTrigger"), node("collect", "TestEmitter"),
                                node("double", "Calculator", formula="item.n * 2", output_field="d"),
                                node("store", "TestCollect")],
                      [("start", "collect"), ("collect", "double"), ("double", "store")]))
    rid = await platform.runner.start_run("lanes", [{}])
    assert run_row(platform, rid)["status"] == "waiting"
    for n in (1, 2, 3):
        assert await platform.runner.deliver_event(f"emit:{rid}", {"n": n}) == 1
    r = run_row(platform, rid)
    assert r["status"] == "waiting"
    lanes = sorted(lane for (nid, lane), a in r["acts"].items() if nid == "store" and a["status"] == "completed")
    assert lanes == ["0.collect:1", "0.collect:2", "0.collect:3"]
    keys = sorted(s["key"] for s in Collect.SEEN[rid])
    assert keys == [f"{rid}/store/0.collect:{n}" for n in (1, 2, 3)]
    await platform.runner.deliver_event(f"emit:{rid}", {"end": True})
    r = run_row(platform, rid)
    assert r["status"] == "completed"
    assert r["acts"][("store", "0")]["status"] == "skipped"


async def test_an_event_that_arrives_before_the_wait_is_committed_is_not_lost(platform):
    save(platform, wf("early", [node("start", "ManualTrigger"), node("collect", "TestEmitter"),
                                node("store", "TestCollect")], [("start", "collect"), ("collect", "store")]))
    rid = "early0000000000000000000000000001"
    assert await platform.runner.deliver_event(f"emit:{rid}", {"n": 1}) == 0  # kept for later
    await platform.runner.start_run("early", [{}], run_id=rid)
    r = await settle(platform, rid)
    assert r["acts"][("store", "0.collect:1")]["status"] == "completed"


async def test_wait_for_a_duration_resumes_when_its_timer_is_due(platform):
    save(platform, wf("timer", [node("start", "ManualTrigger"), node("pause", "Wait", duration=0.3),
                                node("after", "TestCollect")], [("start", "pause"), ("pause", "after")]))
    rid = await platform.runner.start_run("timer", [{"x": 1}])
    r = run_row(platform, rid)
    assert r["status"] == "waiting"
    assert r["acts"][("pause", "0")]["wake_at"] > datetime.now(UTC)
    assert platform.runner.wake_due() == []  # not yet
    r = await settle(platform, rid)
    assert r["status"] == "completed"
    assert r["acts"][("after", "0")]["input"] == [{"x": 1}]


async def test_wait_for_a_webhook_call_resumes_with_its_body(platform):
    save(platform, wf("hook", [node("start", "ManualTrigger"),
                               node("pause", "Wait", continue_condition="webhook", duration="1d"),
                               node("after", "TestCollect")], [("start", "pause"), ("pause", "after")]))
    rid = await platform.runner.start_run("hook", [{"x": 1}])
    assert run_row(platform, rid)["status"] == "waiting"
    assert await platform.runner.deliver_event(f"wait:{rid}", {"approved": True}) == 1
    r = run_row(platform, rid)
    assert r["status"] == "completed"
    assert r["acts"][("after", "0")]["input"] == [{"x": 1, "webhook": {"approved": True}}]


async def test_a_failing_node_is_retried_with_backoff_until_it_succeeds(platform):
    save(platform, wf("retry", [node("start", "ManualTrigger"),
                                node("flaky", "TestFlaky", failures=2, name="r1",
                                     retry={"max_attempts": 3, "backoff_seconds": 0.05, "jitter": False})],
                      [("start", "flaky")]))
    rid = await platform.runner.start_run("retry", [{"x": 1}])
    r = run_row(platform, rid)
    assert r["status"] == "running"
    flaky = r["acts"][("flaky", "0")]
    assert flaky["status"] == "ready" and flaky["error"]["will_retry"] and flaky["wake_at"] is not None
    r = await settle(platform, rid)
    assert r["status"] == "completed"
    assert r["acts"][("flaky", "0")]["attempts"] == 3
    assert r["acts"][("flaky", "0")]["output"]["main"] == [{"x": 1, "attempt": 3}]


async def test_a_node_that_raises_fails_the_run_but_keeps_input_error_and_attempts(platform):
    save(platform, wf("boom", [node("start", "ManualTrigger"), node("flaky", "TestFlaky", failures=1, name="b1"),
                               node("after", "TestCollect")], [("start", "flaky"), ("flaky", "after")]))
    rid = await platform.runner.start_run("boom", [{"x": 7}])
    r = run_row(platform, rid)
    assert r["status"] == "failed"
    assert r["error"]["node_id"] == "flaky" and "failure 1 of 1" in r["error"]["message"]
    flaky = r["acts"][("flaky", "0")]
    assert flaky["status"] == "failed" and flaky["input"] == [{"x": 7}] and flaky["attempts"] == 1
    assert ("after", "0") not in r["acts"] or r["acts"][("after", "0")]["status"] != "completed"
    # the cause is fixed (the flaky node now succeeds): retry from the failed node, same run
    await platform.runner.retry_run(rid)
    r = await settle(platform, rid)
    assert r["status"] == "completed" and r["retries"] == 1
    assert r["acts"][("after", "0")]["input"] == [{"x": 7, "attempt": 2}]


async def test_on_error_continue_passes_error_items_on(platform):
    save(platform, wf("cont", [node("start", "ManualTrigger"),
                               node("flaky", "TestFlaky", failures=5, name="c1", on_error="continue"),
                               node("after", "TestCollect")], [("start", "flaky"), ("flaky", "after")]))
    r = run_row(platform, await platform.runner.start_run("cont", [{"x": 1}]))
    assert r["status"] == "completed"
    got = r["acts"][("after", "0")]["input"][0]
    assert got["x"] == 1 and "failure 1 of 5" in got["error"]["message"]


async def test_on_error_route_sends_items_out_of_the_error_port(platform):
    save(platform, wf("route", [node("start", "ManualTrigger"),
                                node("flaky", "TestFlaky", failures=5, name="e1", on_error="route"),
                                node("ok", "TestCollect"), node("handle", "TestCollect")],
                      [("start", "flaky"), ("flaky", "ok"), ("flaky", "handle", "error")]))
    r = run_row(platform, await platform.runner.start_run("route", [{"x": 1}]))
    assert r["status"] == "completed"
    assert r["acts"][("ok", "0")]["status"] == "skipped"
    assert r["acts"][("handle", "0")]["input"][0]["error"]["type"] == "RetryableNodeError"


async def test_a_failing_expression_is_a_node_error_that_names_it(platform):
    save(platform, wf("expr", [node("start", "ManualTrigger"),
                               node("calc", "Calculator", formula="item.missing * 2", output_field="y")],
                      [("start", "calc")]))
    r = run_row(platform, await platform.runner.start_run("expr", [{"x": 1}]))
    assert r["status"] == "failed"
    assert "item.missing * 2" in r["acts"][("calc", "0")]["error"]["message"]


async def test_cancelling_a_waiting_run_cancels_its_activations_and_ignores_later_events(platform):
    save(platform, wf("cancel", [node("start", "ManualTrigger"), node("collect", "TestEmitter"),
                                 node("store", "TestCollect")], [("start", "collect"), ("collect", "store")]))
    rid = await platform.runner.start_run("cancel", [{}])
    platform.runner.cancel_run(rid)
    r = run_row(platform, rid)
    assert r["status"] == "cancelled" and r["acts"][("collect", "0")]["status"] == "cancelled"
    assert await platform.runner.deliver_event(f"emit:{rid}", {"n": 1}, keep=False) == 0
    with pytest.raises(Exception, match="only a pending, running or waiting run"):
        platform.runner.cancel_run(rid)


async def test_every_node_gets_the_idempotency_key_run_node_lane(platform):
    save(platform, wf("keys", [node("start", "ManualTrigger"), node("store", "TestCollect")], [("start", "store")]))
    rid = await platform.runner.start_run("keys", [{}])
    assert Collect.SEEN[rid][0]["key"] == f"{rid}/store/0"


async def test_a_run_pins_the_version_it_started_with(platform):
    d = wf("pin", [node("start", "ManualTrigger"), node("pause", "Wait", duration=0.2),
                   node("calc", "Calculator", formula="1", output_field="v")], [("start", "pause"), ("pause", "calc")])
    save(platform, d)
    rid = await platform.runner.start_run("pin", [{}])
    d2 = {**d, "nodes": [*d["nodes"][:2], node("calc", "Calculator", formula="2", output_field="v")]}
    save(platform, d2)
    r = await settle(platform, rid)
    assert r["version"] == 1 and r["acts"][("calc", "0")]["output"]["main"] == [{"v": 1}]


async def test_one_node_runs_alone_with_pinned_input(platform):
    save(platform, wf("single", [node("start", "ManualTrigger"),
                                 node("calc", "Calculator", formula="item.a + 1", output_field="b"),
                                 node("store", "TestCollect")], [("start", "calc"), ("calc", "store")]))
    rid = await platform.runner.start_run("single", only_node="calc", pinned={"start": [{"a": 1}, {"a": 2}]},
                                          mode="test")
    r = run_row(platform, rid)
    assert r["status"] == "completed" and r["mode"] == "test"
    assert r["acts"][("calc", "0")]["output"]["main"] == [{"a": 1, "b": 2}, {"a": 2, "b": 3}]
    assert ("store", "0") not in r["acts"]


async def test_pinned_output_replaces_a_node_in_a_whole_test_run(platform):
    save(platform, wf("pinrun", [node("start", "ManualTrigger"),
                                 node("flaky", "TestFlaky", failures=99, name="never"),
                                 node("calc", "Calculator", formula="item.a * 10", output_field="b")],
                      [("start", "flaky"), ("flaky", "calc")]))
    rid = await platform.runner.start_run("pinrun", [{}], pinned={"flaky": [{"a": 4}]}, mode="test")
    r = run_row(platform, rid)
    assert r["status"] == "completed" and r["acts"][("calc", "0")]["output"]["main"] == [{"a": 4, "b": 40}]


async def test_loop_runs_a_sub_workflow_per_item_and_gathers_the_results(platform):
    save(platform, wf("body", [node("start", "ManualTrigger"),
                               node("sq", "Calculator", formula="item.n * item.n", output_field="sq")],
                      [("start", "sq")]))
    save(platform, wf("outer", [node("start", "ManualTrigger"),
                                node("each", "Loop", iteration_body="body", items_source="trigger.numbers",
                                     concurrency=2),
                                node("per_item", "TestCollect"), node("all", "TestCollect")],
                      [("start", "each"), ("each", "per_item", "item"), ("each", "all", "done")]))
    rid = await platform.runner.start_run("outer", [{"numbers": [{"n": 1}, {"n": 2}, {"n": 3}]}])
    r = await settle(platform, rid)
    for _ in range(50):
        if r["status"] == "completed":
            break
        await asyncio.sleep(0.05)
        r = await settle(platform, rid)
    assert r["status"] == "completed", status_of(r)
    done = r["acts"][("all", "0")]["input"]
    assert [d["items"][0]["sq"] for d in done] == [1, 4, 9] and all(d["ok"] for d in done)
    per_item_lanes = [lane for (nid, lane), a in r["acts"].items() if nid == "per_item" and a["status"] == "completed"]
    assert len(per_item_lanes) == 3


async def test_an_expired_lease_is_taken_again_and_the_side_effect_keeps_its_key(platform, tmp_path):
    target = f"sqlite:///{tmp_path / 'target.db'}"
    save(platform, wf("lease", [node("start", "ManualTrigger"),
                                node("write", "DatabaseWrite", connection=target, table="figures",
                                     operation="insert", create_table=True)], [("start", "write")]))
    rid = await platform.runner.start_run("lease", [{"supplier": "acme", "co2": 5}])
    assert run_row(platform, rid)["status"] == "completed"
    # a worker that wrote and died before storing the result: the activation is running
    # under an expired lease; the reconciler takes it again
    with platform.store.transaction() as tx:
        act = tx.find_activations(rid, ["write"])[0]
        tx.update_activation(act["id"], {"status": "running", "leased_by": "dead-worker", "output": None,
                                         "lease_until": datetime.now(UTC) - timedelta(seconds=1)})
        tx.update_run(rid, {"status": "running", "finished_at": None})
    r = await settle(platform, rid)
    assert r["status"] == "completed"
    w = r["acts"][("write", "0")]
    assert w["attempts"] == 2 and w["output"]["main"][0]["_write"]["status"] == "already_written"
    from sqlalchemy import create_engine, text

    with create_engine(target).connect() as c:
        assert c.execute(text("select count(*) from figures")).scalar() == 1


def teardown_module() -> None:
    CALLS.clear()


async def test_an_aggregator_waiting_for_all_gathers_every_lane_once_the_fork_ends(platform):
    save(platform, wf("gather", [node("start", "ManualTrigger"), node("collect", "TestEmitter"),
                                 node("double", "Calculator", formula="item.n * 2", output_field="d"),
                                 node("total", "Aggregator", aggregation_method="sum", field="d", wait_for="all"),
                                 node("per_lane", "Aggregator", aggregation_method="count")],
                      [("start", "collect"), ("collect", "double"), ("double", "total"), ("double", "per_lane")]))
    rid = await platform.runner.start_run("gather", [{}])
    for n in (1, 2, 3):
        await platform.runner.deliver_event(f"emit:{rid}", {"n": n})
    r = run_row(platform, rid)
    assert r["acts"][("total", "0")]["status"] == "pending"
    assert [k for k in r["acts"] if k[0] == "total"] == [("total", "0")]
    await platform.runner.deliver_event(f"emit:{rid}", {"end": True})
    r = run_row(platform, rid)
    assert r["status"] == "completed"
    assert r["acts"][("total", "0")]["output"]["main"] == [{"sum_d": 12}]
    assert r["acts"][("per_lane", "0.collect:2")]["output"]["main"] == [{"count": 1}]


# A run of many lanes holds more activations than the runner drives from memory
# (``Runner.WHOLE_RUN_LIMIT``): each answer is then driven from what the store holds.
MANY = 50


async def test_a_run_with_many_lanes_still_gathers_every_lane_in_an_aggregator_waiting_for_all(platform):
    save(platform, wf("many", [node("start", "ManualTrigger"), node("collect", "TestEmitter"),
                               node("double", "Calculator", formula="item.n * 2", output_field="d"),
                               node("total", "Aggregator", aggregation_method="sum", field="d", wait_for="all"),
                               node("per_lane", "Aggregator", aggregation_method="count")],
                      [("start", "collect"), ("collect", "double"), ("double", "total"), ("double", "per_lane")]))
    rid = await platform.runner.start_run("many", [{}])
    for n in range(1, MANY // 2 + 1):  # one at a time, then many arriving together
        assert await platform.runner.deliver_event(f"emit:{rid}", {"n": n}) == 1
    await asyncio.gather(*(platform.runner.deliver_event(f"emit:{rid}", {"n": n})
                           for n in range(MANY // 2 + 1, MANY + 1)))
    r = await settle(platform, rid)
    assert len(r["acts"]) > platform.runner.WHOLE_RUN_LIMIT
    assert [k for k in r["acts"] if k[0] == "total"] == [("total", "0")]
    assert r["acts"][("total", "0")]["status"] == "pending"
    await platform.runner.deliver_event(f"emit:{rid}", {"end": True})
    r = await settle(platform, rid)
    assert r["status"] == "completed"
    assert r["acts"][("total", "0")]["output"]["main"] == [{"sum_d": sum(2 * n for n in range(1, MANY + 1))}]
    assert r["acts"][("total", "0")]["attempts"] == 1
    assert sorted(int(lane.split(":")[1]) for (nid, lane), a in r["acts"].items()
                  if nid == "per_lane" and a["status"] == "completed" and lane != "0") == list(range(1, MANY + 1))


async def test_each_lane_of_a_run_with_many_lanes_goes_down_the_branch_its_answer_chooses(platform):
    save(platform, wf("branches", [node("start", "ManualTrigger"), node("collect", "TestEmitter"),
                                   node("check", "Conditional", condition="item.n % 3 == 0"),
                                   node("threes", "TestCollect", tag="threes"), node("others", "TestCollect")],
                      [("start", "collect"), ("collect", "check"), ("check", "threes", "true"),
                       ("check", "others", "false")]))
    rid = await platform.runner.start_run("branches", [{}])
    for n in range(1, MANY + 1):
        assert await platform.runner.deliver_event(f"emit:{rid}", {"n": n}) == 1
    r = run_row(platform, rid)
    assert len(r["acts"]) > platform.runner.WHOLE_RUN_LIMIT and r["status"] == "waiting"
    for n in range(1, MANY + 1):
        lane = f"0.collect:{n}"
        went, skipped = ("threes", "others") if n % 3 == 0 else ("others", "threes")
        assert r["acts"][(went, lane)]["status"] == "completed", lane
        assert r["acts"][(went, lane)]["input"] == [{"n": n}]
        assert r["acts"][(skipped, lane)]["status"] == "skipped", lane
    keys = sorted(s["key"] for s in Collect.SEEN[rid])
    assert keys == sorted(f"{rid}/{'threes' if n % 3 == 0 else 'others'}/0.collect:{n}" for n in range(1, MANY + 1))
    await platform.runner.deliver_event(f"emit:{rid}", {"end": True})
    assert (await settle(platform, rid))["status"] == "completed"


async def test_lanes_of_a_run_with_many_lanes_wait_for_a_node_above_them_and_go_on_when_it_ends(platform):
    save(platform, wf("gated", [node("start", "ManualTrigger"), node("collect", "TestEmitter"),
                                node("gate", "Wait", continue_condition="webhook", duration="1d"),
                                node("both", "TestCollect")],
                      [("start", "collect"), ("start", "gate"), ("collect", "both"), ("gate", "both")]))
    rid = await platform.runner.start_run("gated", [{"x": 1}])
    for n in range(1, MANY + 1):
        assert await platform.runner.deliver_event(f"emit:{rid}", {"n": n}) == 1
    r = run_row(platform, rid)
    assert len(r["acts"]) > platform.runner.WHOLE_RUN_LIMIT
    assert {a["status"] for (nid, _), a in r["acts"].items() if nid == "both"} == {"pending"}
    assert rid not in Collect.SEEN
    assert await platform.runner.deliver_event(f"wait:{rid}", {"open": True}) == 1
    r = await settle(platform, rid)
    for n in range(1, MANY + 1):
        act = r["acts"][("both", f"0.collect:{n}")]
        assert act["status"] == "completed" and act["attempts"] == 1
        assert act["input"] == [{"n": n}, {"x": 1, "webhook": {"open": True}}]
    assert len(Collect.SEEN[rid]) == MANY


async def test_a_failed_run_starts_the_error_workflow_named_in_its_settings(platform):
    save(platform, wf("on-failure", [node("start", "ManualTrigger"), node("note", "TestCollect")], [("start", "note")]))
    save(platform, wf("fragile", [node("start", "ManualTrigger"), node("flaky", "TestFlaky", failures=9, name="f9")],
                      [("start", "flaky")], settings={"error_workflow": "on-failure"}))
    rid = await platform.runner.start_run("fragile", [{}])
    assert run_row(platform, rid)["status"] == "failed"
    for _ in range(50):
        seen = [v for v in Collect.SEEN.values() if v and v[0]["items"][0].get("run_id") == rid]
        if seen:
            break
        await asyncio.sleep(0.02)
    item = seen[0][0]["items"][0]
    assert item["workflow_id"] == "fragile" and item["error"]["node_id"] == "flaky"


async def test_runs_driven_at_once_keep_their_leases_while_a_node_outlasts_them(platform):
    save(platform, wf("slow", [node("start", "ManualTrigger"), node("slow", "TestSlow", seconds=1.0)],
                      [("start", "slow")]))
    platform.runner.lease_seconds = 0.3  # renewed every 0.1 s
    runs = [asyncio.create_task(platform.runner.start_run("slow", [{"n": i}])) for i in range(2)]
    await asyncio.sleep(0.6)  # both nodes run, their first leases are long gone
    assert platform.runner.wake_due() == []  # no lease ran out: nothing is taken again
    rids = await asyncio.gather(*runs)
    for rid in rids:
        r = run_row(platform, rid)
        assert r["status"] == "completed"
        assert r["acts"][("slow", "0")]["attempts"] == 1 and Slow.RAN[rid] == 1
