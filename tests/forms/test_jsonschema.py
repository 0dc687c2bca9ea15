"""The JSON Schema export.

The ``jsonschema`` package is not a dependency of the project, so these tests read the
structure directly, and check the example's cleaned answers against the export with a small
reader of the keywords the export uses (``conforms`` below)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from datacollect.forms.jsonschema import DRAFT, EXTENSION, to_json_schema
from datacollect.forms.schema import FormSchema, parse_form_schema
from datacollect.forms.validation import validate_submission
from tests.forms.test_validation import example_answers

EXAMPLE = Path(__file__).parents[2] / "examples" / "forms" / "supplier_emissions_v2.json"

_TYPES = {"string": str, "number": (int, float), "integer": int, "boolean": bool, "array": list,
          "object": dict, "null": type(None)}


def conforms(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Where ``value`` breaks ``schema``, for the keywords ``to_json_schema`` writes."""
    out: list[str] = []
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        ok = any(isinstance(value, _TYPES[t]) and not (t in ("number", "integer") and isinstance(value, bool))
                 for t in names)
        if not ok:
            return [f"{path}: {value!r} is not {names}"]
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: {value!r} not in enum")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 1 << 30):
            out.append(f"{path}: length")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"{path}: pattern")
        if schema.get("format") == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            out.append(f"{path}: date")
        if schema.get("format") == "uri" and not re.match(r"^[a-z]+://", value):
            out.append(f"{path}: uri")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < schema.get("minimum", float("-inf")) or value > schema.get("maximum", float("inf")):
            out.append(f"{path}: range")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", 1 << 30):
            out.append(f"{path}: items count")
        for i, item in enumerate(value):
            out += conforms(item, schema.get("items", {}), f"{path}[{i}]")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        out += [f"{path}.{k}: required" for k in schema.get("required", []) if k not in value]
        if schema.get("additionalProperties") is False:
            out += [f"{path}.{k}: not allowed" for k in value if k not in props]
        for k, v in value.items():
            if k in props:
                out += conforms(v, props[k], f"{path}.{k}")
    return out


def form(*fields: dict[str, Any], **kw: Any) -> FormSchema:
    return FormSchema.model_validate({"name": "f", "fields": list(fields), **kw})


def prop(field: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return to_json_schema(form({"id": "x", **field}, **kw))["properties"]["x"]


@pytest.fixture(scope="module")
def example() -> FormSchema:
    return parse_form_schema(EXAMPLE.read_text())


@pytest.fixture(scope="module")
def spec(example) -> dict[str, Any]:
    return to_json_schema(example)


def test_the_export_is_a_draft_2020_12_object_schema_named_by_the_form_key(spec):
    assert spec["$schema"] == DRAFT == "https://json-schema.org/draft/2020-12/schema"
    assert spec["$id"] == "urn:datacollect:form:supplier_emissions_v2"
    assert spec["title"] == "Supplier emissions questionnaire"
    assert spec["type"] == "object"
    assert spec["additionalProperties"] is False


def test_every_answerable_field_is_a_property_and_headings_are_not(spec, example):
    answerable = [f.id for _, f in example.iter_fields() if f.has_value]
    assert list(spec["properties"]) == answerable
    assert "emissions_intro" not in spec["properties"]
    assert spec[EXTENSION]["sections"]["emissions_intro"]["page"] == "emissions"


def test_required_lists_only_fields_required_on_no_condition(spec):
    assert "company_name" in spec["required"]
    assert "scope_1" in spec["required"]
    assert "scope_3" not in spec["required"]          # required when reports_scope_3 is true
    assert "standard_other" not in spec["required"]
    assert "vat_id" not in spec["required"]            # optional
    assert spec["properties"]["scope_3"][EXTENSION]["required_when_shown"] is True


def test_fields_on_a_conditional_page_are_not_required():
    spec = to_json_schema(FormSchema.model_validate({"name": "f", "pages": [
        {"id": "p1", "fields": [{"id": "a", "type": "boolean"}]},
        {"id": "p2", "visible_if": "a", "fields": [{"id": "b", "type": "text", "required": True}]}]}))
    assert spec["required"] == []
    assert spec["properties"]["b"][EXTENSION]["page_visible_if"] == "a"


def test_x_datacollect_says_unit_condition_sensitivity_and_page(spec):
    assert spec["properties"]["scope_1"][EXTENSION] == {"type": "number", "page": "emissions", "decimals": 3,
                                                        "unit": "t CO2e"}
    assert spec["properties"]["scope_3"][EXTENSION]["visible_if"] == "reports_scope_3 == true"
    assert spec["properties"]["annual_revenue"][EXTENSION]["sensitive"] is True


def test_the_form_level_extension_keeps_pages_rules_and_settings(spec):
    x = spec[EXTENSION]
    assert (x["key"], x["name"], x["version"]) == ("supplier_emissions_v2", "supplier_emissions", 2)
    assert [p["id"] for p in x["pages"]] == ["company", "period", "emissions", "sites", "evidence"]
    assert x["pages"][2]["fields"][0] == "emissions_intro"
    assert {r["id"] for r in x["rules"]} == {"period_order", "total_matches_scopes", "sites_within_scope_1", "signed_off"}
    assert x["settings"]["max_file_mb"] == 20


def test_optional_answers_may_be_null():
    assert prop({"type": "text"})["type"] == ["string", "null"]
    assert prop({"type": "text", "required": True})["type"] == "string"
    assert prop({"type": "select", "options": ["a"]})["enum"] == ["a", None]
    assert prop({"type": "select", "options": ["a"], "required": True})["enum"] == ["a"]


def test_text_limits_and_anchored_patterns():
    s = prop({"type": "text", "min_length": 2, "max_length": 9, "pattern": "[A-Z]+|[0-9]+",
              "pattern_message": "Letters or digits"})
    assert (s["minLength"], s["maxLength"], s["pattern"]) == (2, 9, "^(?:[A-Z]+|[0-9]+)$")
    assert s[EXTENSION]["pattern_message"] == "Letters or digits"


def test_a_required_text_is_not_empty():
    assert prop({"type": "text", "required": True})["minLength"] == 1


def test_text_allowed_values_are_an_enum():
    assert prop({"type": "text", "allowed_values": ["EUR", "USD"], "required": True})["enum"] == ["EUR", "USD"]


@pytest.mark.parametrize("kind, fmt", [("email", "email"), ("url", "uri"), ("date", "date")])
def test_formats(kind, fmt):
    assert prop({"type": kind})["format"] == fmt


def test_phone_numbers_have_a_pattern():
    assert prop({"type": "phone"})["pattern"] == r"^\+?[0-9 ().\-/]+$"


def test_date_bounds_are_in_the_extension():
    assert prop({"type": "date", "min": "2024-01-01", "max": "today"})[EXTENSION] == {
        "type": "date", "page": "main", "min": "2024-01-01", "max": "today"}


def test_numbers():
    s = prop({"type": "number", "min": 0, "max": 100, "unit": "%", "decimals": 1, "required": True})
    assert (s["type"], s["minimum"], s["maximum"]) == ("number", 0, 100)
    assert s[EXTENSION]["unit"] == "%" and s[EXTENSION]["decimals"] == 1
    assert prop({"type": "integer", "required": True})["type"] == "integer"
    assert prop({"type": "integer", "allowed_values": [1, 2]})["enum"] == [1, 2, None]


def test_a_step_counted_from_zero_is_multiple_of_and_another_stays_in_the_extension():
    assert prop({"type": "number", "step": 0.5, "min": 1})["multipleOf"] == 0.5
    s = prop({"type": "number", "step": 0.5, "min": 0.25})
    assert "multipleOf" not in s
    assert s[EXTENSION]["step"] == 0.5


def test_select_labels_are_in_the_extension():
    s = prop({"type": "select", "options": [{"value": "DE", "label": "Germany"}, "FR"], "required": True})
    assert s["enum"] == ["DE", "FR"]
    assert s[EXTENSION]["options"] == [{"value": "DE", "label": "Germany"}, {"value": "FR", "label": "FR"}]


def test_multi_select_is_an_array_of_unique_options():
    s = prop({"type": "multi_select", "options": [1, 2, 3], "min_selected": 2, "max_selected": 3, "required": True})
    assert s["type"] == "array" and s["items"] == {"enum": [1, 2, 3]} and s["uniqueItems"] is True
    assert (s["minItems"], s["maxItems"]) == (2, 3)


def test_an_optional_list_keeps_its_minimum_in_the_extension_because_empty_is_valid():
    s = prop({"type": "multi_select", "options": [1, 2, 3], "min_selected": 2})
    assert "minItems" not in s
    assert s[EXTENSION]["min_selected"] == 2


def test_boolean():
    assert prop({"type": "boolean", "required": True})["type"] == "boolean"


def test_a_file_is_a_reference_object_with_its_size_limit():
    s = prop({"type": "file", "max_size_mb": 2, "accept": [".pdf"], "required": True})
    assert s["type"] == "object"
    assert s["required"] == ["key", "name", "size", "content_type"]
    assert s["properties"]["size"]["maximum"] == 2 * 1024 * 1024
    assert s["additionalProperties"] is False
    assert s[EXTENSION]["accept"] == [".pdf"]


def test_the_form_file_limits_are_exported_when_the_field_has_none():
    s = prop({"type": "file"}, settings={"max_file_mb": 5, "allowed_file_types": [".csv"]})
    assert s["properties"]["size"]["maximum"] == 5 * 1024 * 1024
    assert s[EXTENSION]["accept"] == [".csv"]


def test_multiple_files_are_an_array_of_references():
    s = prop({"type": "file", "multiple": True, "max_files": 4})
    assert s["type"] == ["array", "null"]
    assert s["items"]["type"] == "object"
    assert s["maxItems"] == 4


def test_a_table_is_an_array_of_row_objects(spec):
    s = spec["properties"]["sites"]
    assert s["type"] == ["array", "null"]
    assert s["maxItems"] == 200
    assert s[EXTENSION]["min_rows"] == 1 and s[EXTENSION]["visible_if"] == "has_sites == true"
    row = s["items"]
    assert row["type"] == "object" and row["additionalProperties"] is False
    assert row["required"] == ["site_name", "site_country"]
    assert row["properties"]["renewable_share"][EXTENSION]["visible_if"].startswith("electricity_mwh")
    assert row["properties"]["electricity_mwh"][EXTENSION]["unit"] == "MWh"
    assert s[EXTENSION]["rules"][0]["id"] == "site_within_company"


def test_defaults_titles_and_help_are_kept(spec):
    method = spec["properties"]["scope_2_method"]
    assert method["default"] == "market"
    assert method["title"] == "Scope 2 method"
    assert spec["properties"]["scope_1"]["description"].startswith("Direct emissions")


def test_cleaned_answers_of_the_example_conform_to_the_export(spec, example):
    for answers in (example_answers(),
                    example_answers(reports_scope_3=False, total_emissions=2080.75, has_sites=False,
                                    certificate=None, notes="See the attached report.")):
        result = validate_submission(example, answers)
        assert result.ok, result.errors
        assert conforms(result.cleaned, spec) == []


def test_the_reader_in_these_tests_does_catch_a_bad_answer(spec, example):
    cleaned = validate_submission(example, example_answers()).cleaned
    broken = {**cleaned, "scope_1": "a lot", "extra": 1}
    del broken["company_name"]
    assert sorted(conforms(broken, spec)) == [".company_name: required", ".extra: not allowed",
                                              ".scope_1: 'a lot' is not ['number']"]
