from __future__ import annotations

import pytest
from pydantic import ValidationError

from datacollect.errors import NodeError
from datacollect.nodes.calculator import Calculator, round_half_up
from tests.nodes.conftest import make_ctx, make_node


async def calc(items, ctx=None, **config):
    node = make_node(Calculator, config)
    return (await node.run(ctx or make_ctx(), items))["main"]


async def test_formula_result_is_stored_in_the_output_field_and_other_fields_stay():
    out = await calc([{"id": 1, "scope1": 10, "scope2": 2.5}], formula="item.scope1 + item.scope2",
                     output_field="total")
    assert out == [{"id": 1, "scope1": 10, "scope2": 2.5, "total": 12.5}]


async def test_each_item_gets_its_own_result():
    out = await calc([{"a": 1}, {"a": 2}], formula="item.a * 10", output_field="b")
    assert [o["b"] for o in out] == [10, 20]


async def test_round_goes_half_away_from_zero_like_a_spreadsheet():
    out = await calc([{"a": 2.675}, {"a": 2.5}, {"a": -2.5}], formula="item.a", output_field="a2", round=2)
    assert [o["a2"] for o in out] == [2.68, 2.5, -2.5]
    out = await calc([{"a": 2.5}, {"a": -2.5}, {"a": 7}], formula="item.a", output_field="r", round=0)
    assert [o["r"] for o in out] == [3, -3, 7]
    assert all(type(o["r"]) is int for o in out)


async def test_round_leaves_results_that_are_not_numbers():
    out = await calc([{"name": "ACME"}], formula="item.name ~ '!'", output_field="x", round=2)
    assert out[0]["x"] == "ACME!"


async def test_the_formula_sees_upstream_nodes_trigger_and_helpers():
    ctx = make_ctx(upstream={"form_1": [{"factor": 2}]}, trigger={"year": 2024})
    out = await calc([{"lines": [{"co2": 1}, {"co2": 2}]}], ctx=ctx,
                     formula="sum(item.lines, 'co2') * form_1.factor + trigger.year", output_field="x")
    assert out[0]["x"] == 2030


async def test_dates_come_out_as_iso_text():
    out = await calc([{"d": "2024-03-31"}], formula="date(item.d)", output_field="day")
    assert out[0]["day"] == "2024-03-31"


async def test_a_dotted_output_field_writes_a_nested_field_without_changing_the_input():
    item = {"totals": {"n": 1}, "a": 4}
    out = await calc([item], formula="item.a / 2", output_field="totals.half")
    assert out == [{"totals": {"n": 1, "half": 2.0}, "a": 4}]
    assert item == {"totals": {"n": 1}, "a": 4}


async def test_a_missing_input_field_is_named_in_the_error():
    with pytest.raises(NodeError) as err:
        await calc([{"scope1": 1, "scope2": 2}, {"scope1": 1, "scope2": None}],
                   formula="item.scope1 + item.scope2", input_fields=["scope1", "scope2"], output_field="t")
    assert err.value.message == ("Item 1 has no value for 'scope2', which the formula "
                                 "'item.scope1 + item.scope2' needs")
    assert err.value.details["missing"] == ["scope2"]


async def test_a_failing_formula_names_the_formula_and_the_item():
    with pytest.raises(NodeError) as err:
        await calc([{"a": 1, "b": 1}, {"a": 1, "b": 0}], formula="item.a / item.b", output_field="r")
    assert err.value.message.startswith("The formula 'item.a / item.b' failed on item 1: ZeroDivisionError")


async def test_a_field_the_item_lacks_fails_the_formula_plainly():
    with pytest.raises(NodeError, match="failed on item 0: 'dict object' has no attribute 'b'"):
        await calc([{"a": 1}], formula="item.a + item.b", output_field="r")


async def test_no_items_give_no_items():
    assert await calc([], formula="item.a", output_field="b") == []


@pytest.mark.parametrize(("config", "message"), [
    ({"output_field": "x"}, "formula\n  Field required"),
    ({"formula": "item.a"}, "output_field\n  Field required"),
    ({"formula": "item.a +", "output_field": "x"}, "Expression 'item.a +': does not parse"),
    ({"formula": " ", "output_field": "x"}, "the expression is empty"),
    ({"formula": "item.a", "output_field": ""}, "String should have at least 1 character"),
    ({"formula": "item.a", "output_field": "x", "round": "two"}, "Input should be a valid integer"),
    ({"formula": "item.a", "output_field": "x", "fields": ["a"]}, "Extra inputs are not permitted"),
])
def test_bad_config_is_refused_with_a_plain_message(config, message):
    with pytest.raises(ValidationError) as err:
        Calculator.Config.model_validate(config)
    assert message in str(err.value)


def test_round_half_up_keeps_whole_numbers_for_negative_digits():
    assert round_half_up(1250, -2) == 1300
    assert round_half_up(True, 2) is True
