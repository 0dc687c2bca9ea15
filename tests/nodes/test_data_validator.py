from __future__ import annotations

import pytest
from pydantic import ValidationError

from datacollect.engine.ports import Services
from datacollect.errors import NodeError
from datacollect.nodes.data_validator import DataValidator
from tests.nodes.conftest import MemoryHistory, make_ctx, make_node


def validator(**config):
    return make_node(DataValidator, config)


async def validate(items, ctx=None, **config):
    return await validator(**config).run(ctx or make_ctx(), items)


def messages(item):
    return [i["message"] for i in item["issues"]]


# -- required fields -------------------------------------------------------------------------

async def test_an_item_with_every_required_field_scores_one():
    out = await validate([{"a": 0, "b": False, "c": "x"}], rules=[{"type": "required_fields",
                                                                    "fields": ["a", "b", "c"]}])
    assert out["main"] == [{"a": 0, "b": False, "c": "x", "score": 1.0, "issues": []}]
    assert out["invalid"] == []


async def test_empty_values_count_as_missing_and_each_is_an_issue():
    out = await validate([{"a": " ", "b": [], "c": None, "d": {"e": ""}}],
                         rules=[{"type": "required_fields", "fields": ["a", "b", "c", "d.e", "f"]}])
    item = out["main"][0]
    assert item["score"] == 0.0
    assert item["issues"][0] == {"rule": "required_fields", "field": "a", "message": "'a' is required but has no value"}
    assert [i["field"] for i in item["issues"]] == ["a", "b", "c", "d.e", "f"]


async def test_shorthand_required_fields_uses_the_node_list():
    out = await validate([{"supplier_id": "S1"}], rules=["required_fields"], required_fields=["supplier_id", "co2_t"])
    assert messages(out["main"][0]) == ["'co2_t' is required but has no value"]


async def test_shorthand_required_fields_falls_back_to_the_form_required_list():
    items = [{"co2_t": 1, "_form": {"name": "supplier_emissions_v2", "required": ["co2_t", "vat"]}}]
    out = await validate(items, rules=["required_fields"])
    assert messages(out["main"][0]) == ["'vat' is required but has no value"]


async def test_required_fields_with_nothing_to_go_by_checks_nothing_and_says_so_in_the_log():
    ctx = make_ctx()
    out = await validator(rules=["required_fields"]).run(ctx, [{"a": None}])
    assert out["main"][0]["score"] == 1.0
    assert "nothing was checked" in ctx.logs[0]


# -- types, range, pattern, allowed values ---------------------------------------------------------

async def test_types_are_strict_and_skip_empty_values():
    rules = [{"type": "types", "fields": {"n": "number", "i": "integer", "d": "date", "t": "datetime",
                                          "b": "boolean", "s": "string", "l": "array", "missing": "number"}}]
    good = {"n": 1.5, "i": 3.0, "d": "2024-03-31", "t": "2024-03-31T10:00:00Z", "b": True, "s": "x", "l": []}
    out = await validate([good, {"n": "12", "i": 2.5, "d": "31/03/2024", "b": "yes", "s": 5}], rules=rules)
    assert out["main"][0]["issues"] == []
    assert messages(out["main"][1]) == [
        "'n' should be a number, but is \"12\"", "'i' should be a whole number, but is 2.5",
        "'d' should be a date (YYYY-MM-DD), but is \"31/03/2024\"", "'b' should be yes or no, but is \"yes\"",
        "'s' should be text, but is 5"]


async def test_range_reports_below_and_above_in_plain_words():
    rules = [{"type": "range", "field": "co2_t", "min": 0, "max": 1e6}]
    out = await validate([{"co2_t": -5}, {"co2_t": 2_000_000}, {"co2_t": "12"}, {"co2_t": "abc"}, {}], rules=rules)
    assert [messages(i) for i in out["main"]] == [
        ["'co2_t' is -5, below the minimum of 0"], ["'co2_t' is 2000000, above the maximum of 1000000"], [],
        ["'co2_t' should be a number between 0 and 1000000, but is \"abc\""], []]


async def test_pattern_searches_the_text():
    rules = [{"type": "pattern", "field": "vat", "pattern": "^[A-Z]{2}"}]
    out = await validate([{"vat": "DE123"}, {"vat": "123"}, {"vat": 123}], rules=rules)
    assert [i["score"] for i in out["main"]] == [1.0, 0.0, 0.0]
    assert messages(out["main"][1]) == ["'vat' is \"123\", which does not have the expected format"]


async def test_allowed_values_check_every_answer_of_a_multi_select():
    rules = [{"type": "allowed_values", "field": "unit", "values": ["t", "kt"]}]
    out = await validate([{"unit": "t"}, {"unit": "kg"}, {"unit": ["t", "lb", "oz"]}], rules=rules)
    assert [messages(i) for i in out["main"]] == [
        [], ["'unit' is \"kg\", which is not one of: \"t\", \"kt\""],
        ["'unit' is \"lb\", \"oz\", which is not one of: \"t\", \"kt\""]]


async def test_allowed_values_do_not_take_true_for_one():
    rules = [{"type": "allowed_values", "field": "v", "values": [1, 2]}]
    out = await validate([{"v": True}, {"v": 1.0}], rules=rules)
    assert [i["score"] for i in out["main"]] == [0.0, 1.0]


# -- expressions -----------------------------------------------------------------------------------

async def test_expression_rule_checks_across_fields_with_its_own_message():
    rules = [{"type": "expression", "expression": "item.scope1 <= item.total", "field": "scope1",
              "message": "Scope 1 cannot be more than the total"}]
    out = await validate([{"scope1": 5, "total": 10}, {"scope1": 50, "total": 10}], rules=rules)
    assert out["main"][0]["issues"] == []
    assert out["main"][1]["issues"] == [{"rule": "expression", "field": "scope1",
                                         "message": "Scope 1 cannot be more than the total"}]


async def test_an_expression_that_cannot_be_evaluated_fails_the_rule_with_the_reason():
    rules = [{"type": "expression", "expression": "item.scope1 <= item.total"}]
    out = await validate([{"scope1": 5}], rules=rules)
    assert messages(out["main"][0]) == ["This check did not pass: item.scope1 <= item.total "
                                        "(it could not be checked: 'dict object' has no attribute 'total')"]


async def test_expression_sees_upstream_nodes():
    ctx = make_ctx(upstream={"form_1": [{"limit": 10}]})
    out = await validate([{"v": 11}], ctx=ctx, rules=[{"type": "expression", "expression": "item.v <= form_1.limit"}])
    assert out["main"][0]["score"] == 0.0


# -- score, weights, ports --------------------------------------------------------------------------

async def test_score_is_the_weighted_share_of_rules_that_pass():
    rules = [{"type": "required_fields", "fields": ["a"], "weight": 3},
             {"type": "range", "field": "b", "min": 0},
             {"type": "pattern", "field": "c", "pattern": "x", "weight": 0}]
    out = await validate([{"a": 1, "b": -1, "c": "y"}], rules=rules)
    item = out["main"][0]
    assert item["score"] == 0.75
    assert [i["rule"] for i in item["issues"]] == ["range", "pattern"]


async def test_items_below_fail_below_go_out_of_the_invalid_port():
    rules = [{"type": "required_fields", "fields": ["a"]}, {"type": "required_fields", "fields": ["b"]}]
    out = await validate([{"a": 1, "b": 1}, {"a": 1}, {}], rules=rules, fail_below=0.5)
    assert [i["score"] for i in out["main"]] == [1.0, 0.5]
    assert [i["score"] for i in out["invalid"]] == [0.0]


async def test_score_and_issue_field_names_can_be_chosen():
    out = await validate([{"a": 1}], rules=[{"type": "required_fields", "fields": ["a"]}],
                         score_field="quality", issues_field="problems")
    assert out["main"] == [{"a": 1, "quality": 1.0, "problems": []}]


async def test_a_score_of_two_thirds_is_rounded_for_people():
    rules = [{"type": "required_fields", "fields": [f]} for f in "abc"]
    out = await validate([{"a": 1, "b": 1}], rules=rules)
    assert out["main"][0]["score"] == 0.6667


async def test_the_input_item_is_not_changed():
    item = {"a": None}
    await validate([item], rules=[{"type": "required_fields", "fields": ["a"]}])
    assert item == {"a": None}


# -- outliers ---------------------------------------------------------------------------------------

def with_history(**seed):
    history = MemoryHistory()
    for key, values in seed.items():
        history.seed("wf", key, "co2_t", values)
    return history, make_ctx(services=Services(history=history))


OUTLIER = {"type": "outlier_check", "key": "supplier_id", "fields": ["co2_t"]}


async def test_outlier_goes_out_with_low_score():
    history, ctx = with_history(S1=[100, 110, 90, 105])
    out = await validate([{"supplier_id": "S1", "co2_t": 950}], ctx=ctx, rules=[OUTLIER], fail_below=0.8)
    assert out["main"] == []
    item = out["invalid"][0]
    assert item["score"] == 0.0
    assert item["issues"] == [{"rule": "outlier_check", "field": "co2_t", "message":
                               "'co2_t' is 950, far from the earlier figures for supplier_id S1 "
                               "(average 101.25 over 4 values)"}]


async def test_a_figure_close_to_its_history_passes_and_is_recorded():
    history, ctx = with_history(S1=[100, 110, 90, 105])
    out = await validate([{"supplier_id": "S1", "co2_t": 102}], ctx=ctx, rules=[OUTLIER])
    assert out["main"][0]["score"] == 1.0
    assert history.history("wf", "S1", "co2_t") == [100, 110, 90, 105, 102]
    assert history.entries[-1][2] == "run-1/n1/0/0"


async def test_recording_again_for_the_same_item_is_harmless():
    history, ctx = with_history()
    node = validator(rules=[OUTLIER])
    for _ in range(2):
        await node.run(ctx, [{"supplier_id": "S1", "co2_t": 1}])
    assert history.history("wf", "S1", "co2_t") == [1]


async def test_history_is_kept_per_key():
    history, ctx = with_history(S1=[100, 100, 100], S2=[5, 5, 5])
    out = await validate([{"supplier_id": "S2", "co2_t": 100}, {"supplier_id": "S1", "co2_t": 100}],
                         ctx=ctx, rules=[OUTLIER])
    assert [i["score"] for i in out["main"]] == [0.0, 1.0]


async def test_a_steady_history_does_not_flag_a_tiny_change():
    history, ctx = with_history(S1=[2023, 2023, 2023])
    out = await validate([{"supplier_id": "S1", "co2_t": 2024}], ctx=ctx, rules=[OUTLIER])
    assert out["main"][0]["score"] == 1.0


async def test_too_little_history_passes():
    history, ctx = with_history(S1=[100])
    out = await validate([{"supplier_id": "S1", "co2_t": 10_000}], ctx=ctx, rules=[OUTLIER])
    assert out["main"][0]["score"] == 1.0


async def test_change_method_compares_with_the_latest_value():
    history, ctx = with_history(S1=[10, 100])
    rule = {**OUTLIER, "method": "change"}
    out = await validate([{"supplier_id": "S1", "co2_t": 160}], ctx=ctx, rules=[rule])
    assert messages(out["main"][0]) == ["'co2_t' went from 100 to 160 (+60%) since the latest figure "
                                        "for supplier_id S1"]
    history, ctx = with_history(S1=[10, 100])
    out = await validate([{"supplier_id": "S1", "co2_t": 140}], ctx=ctx, rules=[{**rule, "threshold": 0.5}])
    assert out["main"][0]["score"] == 1.0


async def test_items_of_one_batch_build_on_each_other():
    history, ctx = with_history(S1=[100, 100])
    items = [{"supplier_id": "S1", "co2_t": 100}, {"supplier_id": "S1", "co2_t": 101}]
    await validate(items, ctx=ctx, rules=[OUTLIER])
    assert history.history("wf", "S1", "co2_t") == [100, 100, 100, 101]


async def test_shorthand_outlier_check_uses_node_defaults_and_every_numeric_field():
    history = MemoryHistory()
    history.seed("wf", "S1", "co2_t", [10, 11, 12])
    history.seed("wf", "S1", "water_m3", [5, 5, 6])
    ctx = make_ctx(services=Services(history=history))
    out = await validate([{"supplier_id": "S1", "co2_t": 11, "water_m3": 500, "flag": True, "_n": 9}], ctx=ctx,
                         rules=["outlier_check"], outlier_key="supplier_id")
    assert [i["field"] for i in out["main"][0]["issues"]] == ["water_m3"]
    assert history.entries[-1][3] == {"co2_t": 11, "water_m3": 500}


async def test_without_a_key_every_item_is_compared_with_all_earlier_values():
    history = MemoryHistory()
    history.seed("wf", "*", "co2_t", [10, 12, 11])
    ctx = make_ctx(services=Services(history=history))
    out = await validate([{"co2_t": 1000}], ctx=ctx, rules=["outlier_check"])
    assert messages(out["main"][0]) == ["'co2_t' is 1000, far from the earlier figures received before "
                                        "(average 11 over 3 values)"]


async def test_an_item_without_its_key_is_not_compared_nor_recorded():
    history, ctx = with_history(S1=[1, 1])
    out = await validate([{"co2_t": 1000}], ctx=ctx, rules=[OUTLIER])
    assert out["main"][0]["score"] == 1.0
    assert len(history.entries) == 2
    assert "has no 'supplier_id'" in ctx.logs[0]


async def test_test_runs_record_nothing():
    history = MemoryHistory()
    ctx = make_ctx(services=Services(history=history))
    ctx.test_mode = True
    await validate([{"supplier_id": "S1", "co2_t": 1}], ctx=ctx, rules=[OUTLIER])
    assert history.entries == []


async def test_outlier_check_without_the_history_service_is_a_clear_error():
    with pytest.raises(NodeError, match="needs the history service"):
        await validate([{"co2_t": 1}], rules=["outlier_check"])


async def test_plan_example_rules_run_after_a_form():
    history, ctx = with_history(S1=[100, 105, 95])
    items = [{"supplier_id": "S1", "co2_t": 101, "_form": {"required": ["supplier_id", "co2_t"]}}]
    out = await validate(items, ctx=ctx, rules=["required_fields", "outlier_check"], outlier_key="supplier_id")
    assert out["main"][0]["score"] == 1.0


# -- config -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("config", "message"), [
    ({}, "rules\n  Field required"),
    ({"rules": []}, "Add at least one rule"),
    ({"rules": ["required"]}, "Unknown rule 'required': write 'required_fields' or 'outlier_check'"),
    ({"rules": [{"type": "regex"}]}, "Unknown rule type 'regex': use one of required_fields, types"),
    ({"rules": [{"type": "range", "field": "x"}]}, "A range needs a minimum, a maximum, or both"),
    ({"rules": [{"type": "range", "field": "x", "min": 5, "max": 1}]}, "The minimum of 'x' is above its maximum"),
    ({"rules": [{"type": "pattern", "field": "x", "pattern": "(["}]}, "is not a valid regular expression"),
    ({"rules": [{"type": "allowed_values", "field": "x", "values": []}]}, "List should have at least 1 item"),
    ({"rules": [{"type": "types", "fields": {"x": "money"}}]}, "Input should be 'number'"),
    ({"rules": [{"type": "expression", "expression": "item.a >"}]}, "Expression 'item.a >': does not parse"),
    ({"rules": [{"type": "outlier_check", "method": "iqr"}]}, "Input should be 'zscore' or 'change'"),
    ({"rules": [{"type": "outlier_check", "threshold": 0}]}, "Input should be greater than 0"),
    ({"rules": ["required_fields"], "fail_below": 80}, "Input should be less than or equal to 1"),
    ({"rules": [{"type": "required_fields", "feilds": ["a"]}]}, "Extra inputs are not permitted"),
])
def test_bad_config_is_refused_with_a_plain_message(config, message):
    with pytest.raises(ValidationError) as err:
        DataValidator.Config.model_validate(config)
    assert message in str(err.value)


def test_config_schema_offers_the_shorthand_and_the_rule_objects():
    items = DataValidator.config_schema()["properties"]["rules"]["items"]
    assert items["anyOf"][0] == {"type": "string", "enum": ["required_fields", "outlier_check"]}
    assert set(items["anyOf"][1]["discriminator"]["mapping"]) == {
        "required_fields", "types", "range", "pattern", "allowed_values", "expression", "outlier_check"}


def test_ports_are_main_and_invalid():
    assert DataValidator.spec()["ports"] == ["main", "invalid"]
