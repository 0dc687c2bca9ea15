from __future__ import annotations

import pytest
from pydantic import ValidationError

from datacollect.errors import NodeError
from datacollect.nodes.aggregator import Aggregator
from tests.nodes.conftest import make_ctx, make_node

RESPONSES = [
    {"supplier_id": "S1", "region": "EU", "co2_t": 10, "unit": "t"},
    {"supplier_id": "S2", "region": "US", "co2_t": 5.5, "unit": "t"},
    {"supplier_id": "S1", "region": "EU", "co2_t": 20, "unit": "kt"},
    {"supplier_id": "S3", "region": "EU", "co2_t": None},
]


async def agg(items, **config):
    node = make_node(Aggregator, config)
    return (await node.run(make_ctx(), items))["main"]


async def test_shorthand_sums_a_field_per_group():
    out = await agg(RESPONSES, group_by="supplier_id", aggregation_method="sum", field="co2_t")
    assert out == [{"supplier_id": "S1", "sum_co2_t": 30}, {"supplier_id": "S2", "sum_co2_t": 5.5},
                   {"supplier_id": "S3", "sum_co2_t": 0}]


async def test_several_aggregations_with_chosen_names():
    out = await agg(RESPONSES, group_by=["region"], aggregation_method=[
        {"method": "count", "as": "responses"}, {"field": "co2_t", "method": "count", "as": "answered"},
        {"field": "co2_t", "method": "sum", "as": "total_co2"}, {"field": "co2_t", "method": "avg"},
        {"field": "co2_t", "method": "min"}, {"field": "co2_t", "method": "max"},
        {"field": "supplier_id", "method": "list", "as": "suppliers"},
        {"field": "supplier_id", "method": "distinct", "as": "distinct_suppliers"}])
    assert out == [
        {"region": "EU", "responses": 3, "answered": 2, "total_co2": 30, "avg_co2_t": 15.0, "min_co2_t": 10,
         "max_co2_t": 20, "suppliers": ["S1", "S1", "S3"], "distinct_suppliers": ["S1", "S3"]},
        {"region": "US", "responses": 1, "answered": 1, "total_co2": 5.5, "avg_co2_t": 5.5, "min_co2_t": 5.5,
         "max_co2_t": 5.5, "suppliers": ["S2"], "distinct_suppliers": ["S2"]},
    ]


async def test_no_group_by_makes_one_group_and_count_is_the_default():
    assert await agg(RESPONSES) == [{"count": 4}]


async def test_no_items_and_no_group_still_give_one_result():
    out = await agg([], aggregation_method=[{"method": "count"}, {"field": "x", "method": "sum"},
                                            {"field": "x", "method": "avg"}, {"field": "x", "method": "list"}])
    assert out == [{"count": 0, "sum_x": 0, "avg_x": None, "list_x": []}]


async def test_no_items_with_a_group_give_no_groups():
    assert await agg([], group_by="supplier_id") == []


async def test_nested_group_fields_are_read_and_written_nested():
    items = [{"supplier": {"id": "S1"}, "q": "Q1", "v": 1}, {"supplier": {"id": "S1"}, "q": "Q2", "v": 2},
             {"supplier": {"id": "S1"}, "q": "Q1", "v": 3}]
    out = await agg(items, group_by="supplier.id, q", aggregation_method="sum", field="v")
    assert out == [{"supplier": {"id": "S1"}, "q": "Q1", "sum_v": 4}, {"supplier": {"id": "S1"}, "q": "Q2", "sum_v": 2}]


async def test_items_without_the_group_field_form_a_null_group():
    out = await agg([{"k": "a"}, {}, {"k": None}], group_by="k")
    assert out == [{"k": "a", "count": 1}, {"k": None, "count": 2}]


async def test_group_values_that_are_lists_or_objects_still_group():
    out = await agg([{"tags": ["a"]}, {"tags": ["a"]}, {"tags": {"x": 1}}], group_by="tags")
    assert out == [{"tags": ["a"], "count": 2}, {"tags": {"x": 1}, "count": 1}]


async def test_numeric_text_is_added_up_and_other_text_is_refused_by_item():
    assert await agg([{"v": "1.5"}, {"v": 2}], aggregation_method="sum", field="v") == [{"sum_v": 3.5}]
    with pytest.raises(NodeError) as err:
        await agg([{"v": 1}, {"v": "abc"}], aggregation_method="sum", field="v")
    assert err.value.message == "Cannot add up 'v': item 1 has \"abc\", which is not a number"


async def test_min_and_max_compare_text_when_every_value_is_text():
    items = [{"d": "2024-03-31"}, {"d": "2023-12-31"}, {"d": ""}]
    out = await agg(items, aggregation_method=[{"field": "d", "method": "min"}, {"field": "d", "method": "max"}])
    assert out == [{"min_d": "2023-12-31", "max_d": "2024-03-31"}]


async def test_min_compares_numeric_text_as_numbers():
    assert await agg([{"v": "10"}, {"v": "9"}], aggregation_method="min", field="v") == [{"min_v": 9}]


async def test_median_first_and_last_skip_missing_values():
    items = [{"v": None}, {"v": 3}, {"v": 1}, {"v": 2}, {}]
    out = await agg(items, aggregation_method=[{"field": "v", "method": "median"},
                                               {"field": "v", "method": "first"},
                                               {"field": "v", "method": "last"}])
    assert out == [{"median_v": 2, "first_v": 3, "last_v": 2}]


async def test_sum_of_whole_numbers_stays_whole_and_floats_add_up_exactly():
    assert await agg([{"v": 1}, {"v": 2}], aggregation_method="sum", field="v") == [{"sum_v": 3}]
    assert await agg([{"v": 0.1}] * 10, aggregation_method="sum", field="v") == [{"sum_v": 1.0}]


@pytest.mark.parametrize(("config", "message"), [
    ({"aggregation_method": "sum"}, "Choose the field for 'sum'"),
    ({"aggregation_method": "total", "field": "x"}, "Input should be 'count', 'sum'"),
    ({"aggregation_method": [{"method": "avg"}]}, "Choose the field for 'avg'"),
    ({"aggregation_method": []}, "Add at least one aggregation"),
    ({"aggregation_method": [{"method": "count"}, {"method": "count"}]}, "Two aggregations write 'count'"),
    ({"group_by": "total", "aggregation_method": [{"method": "sum", "field": "x", "as": "total"}]},
     "has the name of a group field"),
    ({"group_by": "x", "wait_for": "soon"}, "Input should be 'none' or 'all'"),
])
def test_bad_config_is_refused_with_a_plain_message(config, message):
    with pytest.raises(ValidationError) as err:
        Aggregator.Config.model_validate(config)
    assert message in str(err.value)


def test_a_leftover_field_is_ignored_when_aggregations_are_listed():
    config = Aggregator.Config.model_validate({"aggregation_method": [{"method": "count"}], "field": "x"})
    assert [a.output_name for a in config.aggregations()] == ["count"]


async def test_results_written_into_a_group_object_leave_the_input_alone():
    items = [{"supplier": {"id": "S1"}, "v": 2}]
    out = await agg(items, group_by="supplier", aggregation_method=[{"field": "v", "method": "sum", "as": "supplier.total"}])
    assert out == [{"supplier": {"id": "S1", "total": 2}}]
    assert items == [{"supplier": {"id": "S1"}, "v": 2}]
