from __future__ import annotations

import pytest
from pydantic import ValidationError

from datacollect.errors import NodeError
from datacollect.nodes.conditional import Conditional
from tests.nodes.conftest import make_ctx, make_node


async def branch(items, ctx=None, **config):
    node = make_node(Conditional, config)
    return await node.run(ctx or make_ctx(), items)


async def test_each_item_goes_to_the_port_its_condition_picks():
    out = await branch([{"v": 1}, {"v": 20}, {"v": 11}], condition="item.v > 10")
    assert out == {"true": [{"v": 20}, {"v": 11}], "false": [{"v": 1}]}


async def test_the_plan_example_reads_the_validator_score():
    ctx = make_ctx(upstream={"validate_1": [{"score": 0.9}]})
    out = await branch([{"score": 0.9}], ctx=ctx, condition="validate_1.score > 0.8")
    assert out == {"true": [{"score": 0.9}], "false": []}


async def test_text_that_means_no_counts_as_false():
    items = [{"ok": v} for v in ["false", "No", "0", "", "off", None, 0, [], "yes", 1, "x"]]
    out = await branch(items, condition="item.ok")
    assert [i["ok"] for i in out["true"]] == ["yes", 1, "x"]


async def test_a_template_condition_is_accepted():
    out = await branch([{"v": 3}], condition="{{ item.v == 3 }}")
    assert out["true"] == [{"v": 3}]


async def test_conditions_are_joined_with_and_by_default():
    items = [{"a": 1, "b": 1}, {"a": 1, "b": 0}]
    out = await branch(items, conditions=["item.a == 1", "item.b == 1"])
    assert out == {"true": [{"a": 1, "b": 1}], "false": [{"a": 1, "b": 0}]}


async def test_conditions_joined_with_or_need_one_to_hold():
    items = [{"a": 0, "b": 1}, {"a": 0, "b": 0}]
    out = await branch(items, condition="item.a == 1", conditions=["item.b == 1"], combine="or")
    assert out == {"true": [{"a": 0, "b": 1}], "false": [{"a": 0, "b": 0}]}


async def test_the_first_condition_that_decides_stops_the_evaluation():
    out = await branch([{"a": 0}], conditions=["item.a == 1", "item.missing > 1"])
    assert out["false"] == [{"a": 0}]


async def test_mode_all_sends_every_item_the_same_way():
    items = [{"co2_t": 600}, {"co2_t": 500}]
    out = await branch(items, condition="sum(items, 'co2_t') > 1000", mode="all")
    assert out == {"true": items, "false": []}
    out = await branch(items, condition="item.co2_t > 550 and items | length > 2", mode="all")
    assert out == {"true": [], "false": items}


async def test_no_items_go_nowhere():
    assert await branch([], condition="item.v") == {"true": [], "false": []}
    assert await branch([], condition="true", mode="all") == {"true": [], "false": []}


async def test_a_failing_condition_names_the_expression_and_the_item():
    with pytest.raises(NodeError) as err:
        await branch([{"v": 1}, {}], condition="item.v > 0")
    assert err.value.message == "The condition 'item.v > 0' failed on item 1: 'dict object' has no attribute 'v'"
    assert err.value.details == {"item": 1, "expression": "item.v > 0"}


async def test_a_failing_condition_in_mode_all_names_the_expression():
    with pytest.raises(NodeError, match="The condition 'nope.x' failed: 'nope' is undefined"):
        await branch([{}], condition="nope.x", mode="all")


@pytest.mark.parametrize(("config", "message"), [
    ({}, "Write the condition to test, e.g. validate_1.score > 0.8"),
    ({"conditions": []}, "Write the condition to test"),
    ({"condition": "item.v >"}, "Expression 'item.v >': does not parse"),
    ({"conditions": ["item.v", "(("]}, "Expression '((': does not parse"),
    ({"condition": "x", "combine": "xor"}, "Input should be 'and' or 'or'"),
    ({"condition": "x", "mode": "each"}, "Input should be 'per_item' or 'all'"),
    ({"condition": "x", "true_branch": "sap_export"}, "Extra inputs are not permitted"),
])
def test_bad_config_is_refused_with_a_plain_message(config, message):
    with pytest.raises(ValidationError) as err:
        Conditional.Config.model_validate(config)
    assert message in str(err.value)


def test_ports_are_true_and_false():
    assert Conditional.spec()["ports"] == ["true", "false"]
    assert Conditional.spec()["category"] == "logic"
