from __future__ import annotations

import pytest
from pydantic import ValidationError

from datacollect.engine.ports import Services
from datacollect.errors import NodeError
from datacollect.nodes.data_mapper import DataMapper, FieldPath, cast_value
from tests.nodes.conftest import MemoryMappings, make_ctx, make_node


def mapper(**config):
    return make_node(DataMapper, config)


async def run(node, items, **ctx_kw):
    return (await node.run(make_ctx(**ctx_kw), items))["main"]


async def test_rules_rename_and_nest_fields():
    node = mapper(mapping_rules=[{"from": "supplier", "to": "vendor.name"},
                                 {"from": "emissions.scope1", "to": "co2_scope1"}])
    out = await run(node, [{"supplier": "ACME", "emissions": {"scope1": 12.5}, "other": 1}])
    assert out == [{"vendor": {"name": "ACME"}, "co2_scope1": 12.5}]


async def test_values_are_cast_to_the_rule_type():
    node = mapper(mapping_rules=[
        {"from": "a", "type": "number"}, {"from": "b", "type": "integer"}, {"from": "c", "type": "string"},
        {"from": "d", "type": "boolean"}, {"from": "e", "type": "date"}, {"from": "f", "type": "datetime"},
        {"from": "g", "type": "date", "format": "%d/%m/%Y"}])
    out = await run(node, [{"a": " 1 234.5 ", "b": "12.0", "c": 7, "d": "Yes", "e": "2024-03-31T10:00:00Z",
                            "f": "2024-03-31T10:00:00Z", "g": "31/03/2024"}])
    assert out == [{"a": 1234.5, "b": 12, "c": "7", "d": True, "e": "2024-03-31",
                    "f": "2024-03-31T10:00:00+00:00", "g": "2024-03-31"}]


async def test_missing_values_take_the_default_or_null():
    node = mapper(mapping_rules=[{"from": "a", "type": "number", "default": "0"}, {"from": "b.c"},
                                 {"from": "d", "type": "number"}, {"from": "e", "type": "string"}])
    out = await run(node, [{"a": None, "d": "", "e": ""}])
    assert out == [{"a": 0, "b": {"c": None}, "d": None, "e": ""}]


async def test_computed_fields_render_templates_with_the_input_item():
    node = mapper(mapping_rules=[
        {"to": "total", "value": "{{ item.s1 + item.s2 }}", "type": "number"},
        {"to": "label", "value": "{{ item.name }} ({{ trigger.quarter }})"},
        {"to": "source", "value": "supplier_portal"}])
    out = await run(node, [{"s1": 1, "s2": 2, "name": "ACME"}], trigger={"quarter": "Q1"})
    assert out == [{"total": 3, "label": "ACME (Q1)", "source": "supplier_portal"}]


async def test_a_rule_without_to_casts_the_field_in_place():
    out = await run(mapper(mapping_rules=[{"from": "co2_t", "type": "number"}]), [{"co2_t": "5"}])
    assert out == [{"co2_t": 5}]


async def test_keep_unmapped_moves_read_fields_and_keeps_the_rest():
    node = mapper(mapping_rules=[{"from": "a.b", "to": "x"}], keep_unmapped=True)
    item = {"a": {"b": 1}, "c": {"d": 2}}
    out = await run(node, [item])
    assert out == [{"c": {"d": 2}, "x": 1}]
    assert item == {"a": {"b": 1}, "c": {"d": 2}}  # the input item is not changed


async def test_a_value_that_cannot_be_cast_fails_the_node_naming_item_field_and_value():
    node = mapper(mapping_rules=[{"from": "co2", "to": "co2_t", "type": "number"}])
    with pytest.raises(NodeError) as err:
        await run(node, [{"co2": 1}, {"co2": "abc"}, {"co2": "n/a"}])
    assert err.value.message == "Item 1, field 'co2_t': \"abc\" is not a number (and 1 more problem)"
    assert [d["item"] for d in err.value.details] == [1, 2]


async def test_flag_mode_lets_bad_items_through_with_an_errors_list():
    node = mapper(mapping_rules=[{"from": "co2", "type": "number"}, {"from": "ok", "type": "boolean"}],
                  on_item_error="flag")
    out = await run(node, [{"co2": "abc", "ok": "maybe"}, {"co2": "3", "ok": "no"}])
    assert out[0] == {"co2": "abc", "ok": "maybe", "_errors": [
        {"field": "co2", "value": "abc", "message": '"abc" is not a number'},
        {"field": "ok", "value": "maybe", "message": '"maybe" is not yes or no'}]}
    assert out[1] == {"co2": 3, "ok": False}


async def test_whole_number_cast_refuses_fractions():
    node = mapper(mapping_rules=[{"from": "n", "type": "integer"}], on_item_error="flag")
    out = await run(node, [{"n": 2.5}])
    assert out[0]["_errors"][0]["message"] == "2.5 is not a whole number"


async def test_output_schema_casts_and_requires_fields():
    node = mapper(mapping_rules=[{"from": "a"}, {"from": "b"}, {"from": "d"}], on_item_error="flag",
                  output_schema={"type": "object", "required": ["b"],
                                 "properties": {"a": {"type": "number"}, "b": {"type": "string"},
                                                "d": {"type": "string", "format": "date"}}})
    out = await run(node, [{"a": "4.5", "b": None, "d": "2024-01-02T00:00:00"}])
    assert out == [{"a": 4.5, "b": None, "d": "2024-01-02", "_errors": [
        {"field": "b", "value": None, "message": "has no value, but the output schema requires one"}]}]


async def test_output_schema_shorthand_is_accepted():
    node = mapper(mapping_rules=[{"from": "a"}], output_schema={"a": "integer"})
    assert await run(node, [{"a": "7"}]) == [{"a": 7}]


async def test_input_schema_required_fields_must_be_there():
    node = mapper(mapping_rules=[{"from": "a"}], input_schema={"properties": {"a": {"type": "number"}},
                                                               "required": ["a"]})
    with pytest.raises(NodeError, match="Item 0, field 'a': has no value, but the input schema requires one"):
        await run(node, [{}])


async def test_stored_mapping_is_applied_before_the_nodes_own_rules():
    store = MemoryMappings({"carbon_to_sap_v2": {
        "name": "carbon_to_sap_v2", "mapping_rules": [{"from": "co2_t", "to": "MENGE", "type": "number"},
                                                      {"from": "supplier_id", "to": "LIFNR"}]}})
    node = mapper(mapping="carbon_to_sap_v2", mapping_rules=[{"to": "MEINS", "value": "T"}])
    services = Services(mappings=store)
    items = [{"co2_t": "12.5", "supplier_id": "S1"}]
    assert await run(node, items, services=services) == [{"MENGE": 12.5, "LIFNR": "S1", "MEINS": "T"}]
    assert await run(node, items, services=services) == [{"MENGE": 12.5, "LIFNR": "S1", "MEINS": "T"}]


async def test_a_changed_stored_mapping_is_used_at_the_next_run():
    store = MemoryMappings({"m": {"mapping_rules": [{"from": "a", "to": "x"}]}})
    node = mapper(mapping="m")
    services = Services(mappings=store)
    assert await run(node, [{"a": 1}], services=services) == [{"x": 1}]
    store.mappings["m"]["mapping_rules"][0]["to"] = "y"
    assert await run(node, [{"a": 1}], services=services) == [{"y": 1}]


async def test_stored_mapping_keep_unmapped_applies_unless_the_node_says_otherwise():
    store = MemoryMappings({"m": {"mapping_rules": [{"from": "a", "to": "x"}], "keep_unmapped": True}})
    services = Services(mappings=store)
    assert await run(mapper(mapping="m"), [{"a": 1, "b": 2}], services=services) == [{"b": 2, "x": 1}]
    assert await run(mapper(mapping="m", keep_unmapped=False), [{"a": 1, "b": 2}],
                     services=services) == [{"x": 1}]


async def test_an_unknown_stored_mapping_is_a_clear_error():
    node = mapper(mapping="nope")
    with pytest.raises(NodeError, match="There is no stored mapping named 'nope'"):
        await run(node, [{}], services=Services(mappings=MemoryMappings()))


async def test_a_stored_mapping_without_the_service_is_a_clear_error():
    with pytest.raises(NodeError, match="needs the mappings service"):
        await run(mapper(mapping="m"), [{}])


async def test_an_invalid_stored_mapping_is_a_clear_error():
    store = MemoryMappings({"m": {"mapping_rules": [{"to": "x"}]}})
    with pytest.raises(NodeError, match="The stored mapping 'm' is not valid: A rule needs 'from'"):
        await run(mapper(mapping="m"), [{}], services=Services(mappings=store))


async def test_a_failing_computed_value_is_an_item_error():
    node = mapper(mapping_rules=[{"to": "x", "value": "{{ item.a.b }}"}])
    with pytest.raises(NodeError, match="Item 0, field 'x': could not be computed"):
        await run(node, [{}])


async def test_no_items_give_no_items():
    assert await run(mapper(mapping_rules=[{"from": "a"}]), []) == []


@pytest.mark.parametrize(("config", "message"), [
    ({}, "Add at least one mapping rule, or name a stored mapping"),
    ({"mapping_rules": []}, "Add at least one mapping rule, or name a stored mapping"),
    ({"mapping_rules": [{"to": "x"}]}, "A rule needs 'from' (the field to read) or 'value' (a computed value)"),
    ({"mapping_rules": [{"from": "a", "value": 1}]}, "A rule either copies a field ('from') or computes one"),
    ({"mapping_rules": [{"value": 1}]}, "A computed field needs 'to', the field to write"),
    ({"mapping_rules": [{"from": "a", "type": "money"}]}, "Input should be 'number', 'integer'"),
    ({"mapping_rules": [{"from": "a", "type": "number", "default": "zero"}]},
     "The default of 'a': \"zero\" is not a number"),
    ({"mapping_rules": [{"from": "a", "format": "%d"}]}, "'format' is only used with type date or datetime"),
    ({"mapping_rules": [{"to": "a", "value": "{{ item. }}"}]}, "The value of 'a': Expression ' item. ': does not parse"),
    ({"mapping_rules": [{"from": "a", "too": "b"}]}, "Extra inputs are not permitted"),
    ({"mapping": "m", "keep_unmaped": True}, "Extra inputs are not permitted"),
])
def test_bad_config_is_refused_with_a_plain_message(config, message):
    with pytest.raises(ValidationError) as err:
        DataMapper.Config.model_validate(config)
    assert message in str(err.value)


def test_rules_reading_fields_the_strict_input_schema_lacks_are_save_problems():
    node = mapper(mapping_rules=[{"from": "a", "to": "x"}, {"from": "b", "to": "y"}],
                  input_schema={"properties": {"a": {"type": "number"}}, "additionalProperties": False},
                  output_schema={"properties": {"x": {"type": "number"}}, "additionalProperties": False})
    assert node.check() == ["Mapping rule 2 reads 'b', which the input schema does not declare",
                            "Mapping rule 2 writes 'y', which the output schema does not declare"]
    assert mapper(mapping_rules=[{"from": "b"}], input_schema={"a": "number"}).check() == []


def test_field_paths_read_nested_objects_lists_and_dotted_keys():
    item = {"a": {"b": [{"c": 1}]}, "t.CO2": 5}
    assert FieldPath("a.b.0.c").get(item) == 1
    assert FieldPath("t.CO2").get(item) == 5
    assert FieldPath("a.x").get(item, None) is None


@pytest.mark.parametrize(("value", "type_", "expected"), [
    (True, "string", "true"), ({"a": 1}, "string", '{"a": 1}'), (1, "boolean", True), ("off", "boolean", False),
    ("2024-03-31", "datetime", "2024-03-31T00:00:00"), (3, "number", 3), ("1e3", "number", 1000.0),
])
def test_casts_read_values_as_people_write_them(value, type_, expected):
    assert cast_value(value, type_) == expected


@pytest.mark.parametrize(("value", "type_"), [
    (True, "number"), ("nan", "number"), ("1_000", "number"), ("12,5", "number"), (2, "boolean"),
    ("31/03/2024", "date"), (20240331, "date"),
])
def test_casts_refuse_what_they_cannot_read_safely(value, type_):
    with pytest.raises(ValueError):
        cast_value(value, type_)


def test_config_schema_draws_the_panel():
    schema = DataMapper.config_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"mapping_rules", "mapping", "input_schema", "output_schema",
                                         "keep_unmapped", "on_item_error"}
    assert "from" in schema["$defs"]["MappingRule"]["properties"]


async def test_writing_into_a_copied_object_leaves_the_input_item_alone():
    node = mapper(mapping_rules=[{"from": "supplier", "to": "vendor"}, {"to": "vendor.country", "value": "DE"}],
                  output_schema={"vendor": {"type": "object", "properties": {"zip": {"type": "string"}}}})
    item = {"supplier": {"name": "ACME", "zip": 10115}}
    out = await run(node, [item])
    assert out == [{"vendor": {"name": "ACME", "zip": "10115", "country": "DE"}}]
    assert item == {"supplier": {"name": "ACME", "zip": 10115}}


def test_a_malformed_schema_does_not_stop_the_node():
    node = mapper(mapping_rules=[{"from": "a"}], output_schema={"properties": "a", "required": "a"})
    assert node.check() == []
