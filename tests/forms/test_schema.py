"""The form schema model and its save-time checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from datacollect.errors import ExpressionError, InvalidInput
from datacollect.forms.schema import (
    FIELD_TYPES,
    FormSchema,
    FormSchemaError,
    LongTextField,
    NumberField,
    SelectField,
    TableField,
    expression_names,
    parse_form_schema,
)

EXAMPLE = Path(__file__).parents[2] / "examples" / "forms" / "supplier_emissions_v2.json"


def form(*fields: dict[str, Any], **kw: Any) -> FormSchema:
    return FormSchema.model_validate({"name": "f", "fields": list(fields), **kw})


def problems(data: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(FormSchemaError) as caught:
        FormSchema.model_validate(data)
    return caught.value.problems


def messages(data: dict[str, Any]) -> list[str]:
    return [p["message"] for p in problems(data)]


# --------------------------------------------------------------------------- identity and shape


def test_example_form_loads_with_its_key_pages_and_rules():
    schema = parse_form_schema(EXAMPLE.read_text())
    assert schema.key == "supplier_emissions_v2"
    assert [p.id for p in schema.pages] == ["company", "period", "emissions", "sites", "evidence"]
    assert {r.id for r in schema.rules} >= {"period_order", "total_matches_scopes"}
    assert isinstance(schema.field("sites"), TableField)
    assert schema.field("scope_1").unit == "t CO2e"


def test_key_is_name_and_numbered_version():
    assert FormSchema.model_validate({"name": "supplier_emissions", "version": 2,
                                      "fields": [{"id": "a", "type": "text"}]}).key == "supplier_emissions_v2"


@pytest.mark.parametrize("version, key", [("v2", "f_v2"), ("V3", "f_v3"), ("2", "f_v2"), ("2025-q1", "f_2025-q1")])
def test_key_follows_the_version_label(version, key):
    assert form({"id": "a", "type": "text"}, version=version).key == key


def test_version_defaults_to_one():
    assert form({"id": "a", "type": "text"}).key == "f_v1"


def test_given_id_is_kept_verbatim_as_the_key():
    schema = FormSchema.model_validate({"id": "Emissions-2025", "name": "emissions", "version": 7,
                                        "fields": [{"id": "a", "type": "text"}]})
    assert schema.key == "Emissions-2025"
    assert (schema.name, schema.version) == ("emissions", 7)


def test_id_alone_gives_name_and_version():
    schema = FormSchema.model_validate({"id": "supplier_emissions_v2", "fields": [{"id": "a", "type": "text"}]})
    assert (schema.name, schema.version, schema.key) == ("supplier_emissions", 2, "supplier_emissions_v2")


def test_form_without_a_name_is_refused():
    assert "The form needs a name (for example supplier_emissions)" in messages(
        {"fields": [{"id": "a", "type": "text"}]})


def test_name_must_be_a_slug():
    assert any("lower-case" in m for m in messages({"name": "Supplier Emissions", "fields": [{"id": "a", "type": "text"}]}))


def test_version_must_be_positive():
    assert any("version" in p["path"] for p in problems({"name": "f", "version": 0, "fields": [{"id": "a", "type": "text"}]}))


def test_single_page_fields_become_one_page():
    schema = form({"id": "a", "type": "text"}, title="Quick survey")
    assert len(schema.pages) == 1
    assert schema.pages[0].id == "main"
    assert schema.pages[0].title == "Quick survey"


def test_pages_and_fields_together_are_refused():
    assert messages({"name": "f", "fields": [{"id": "a", "type": "text"}],
                     "pages": [{"id": "p", "fields": [{"id": "b", "type": "text"}]}]}) == [
        "Give either 'pages' or 'fields', not both"]


def test_pages_without_ids_are_numbered():
    schema = FormSchema.model_validate({"name": "f", "pages": [{"fields": [{"id": "a", "type": "text"}]},
                                                              {"fields": [{"id": "b", "type": "text"}]}]})
    assert [p.id for p in schema.pages] == ["page_1", "page_2"]


@pytest.mark.parametrize("alias, canonical", [("textarea", "long_text"), ("dropdown", "select"),
                                              ("group", "table"), ("multiselect", "multi_select"),
                                              ("checkbox", "boolean"), ("heading", "section"), ("TEXT", "text")])
def test_other_spellings_of_field_types_are_accepted(alias, canonical):
    extra = {"options": ["a"]} if canonical in ("select", "multi_select") else {}
    extra |= {"fields": [{"id": "c", "type": "text"}]} if canonical == "table" else {}
    schema = form({"id": "x", "type": alias, **extra}, {"id": "y", "type": "text"})
    assert schema.field("x").type == canonical


def test_every_field_type_has_a_model():
    fields = []
    for t in FIELD_TYPES:
        f: dict[str, Any] = {"id": f"f_{t}", "type": t}
        if t in ("select", "multi_select"):
            f["options"] = ["a", "b"]
        if t == "table":
            f["fields"] = [{"id": "c", "type": "text"}]
        fields.append(f)
    schema = form(*fields)
    assert [f.type for _, f in schema.iter_fields()] == list(FIELD_TYPES)


def test_options_may_be_plain_strings_or_value_label_pairs():
    schema = form({"id": "c", "type": "select", "options": ["DE", {"value": 2, "label": "Two"}, 3]})
    field = schema.field("c")
    assert isinstance(field, SelectField)
    assert [(o.value, o.text) for o in field.options] == [("DE", "DE"), (2, "Two"), (3, "3")]


def test_label_defaults_to_the_readable_id():
    assert form({"id": "scope_1", "type": "number"}).field("scope_1").title == "Scope 1"


def test_unknown_field_type_is_reported_with_the_known_types():
    [p] = problems({"name": "f", "fields": [{"id": "a", "type": "slider"}]})
    assert p["path"] == "fields[0]"
    assert p["field"] == "a"
    assert p["message"].startswith("Unknown field type 'slider'; the types are: text, long_text")


def test_field_without_a_type_is_reported():
    assert messages({"name": "f", "fields": [{"id": "a"}]}) == ["The field has no 'type'"]


def test_option_of_another_field_type_is_refused():
    [p] = problems({"name": "f", "fields": [{"id": "a", "type": "text", "unit": "kg"}]})
    assert p == {"path": "fields[0].unit", "field": "a", "message": "'unit' is not an option of a text field"}


def test_shape_problems_have_the_page_path_and_the_field_id_path():
    found = problems({"name": "f", "pages": [
        {"id": "p1", "fields": [{"id": "a", "type": "text"}]},
        {"id": "p2", "fields": [{"id": "t", "type": "table", "fields": [
            {"id": "n", "type": "number", "min": "low"}]}]}]})
    assert found == [{"path": "pages[1].fields[0].fields[0].min", "field": "t.n", "message": "'min' must be a number"}]


def test_all_shape_problems_are_reported_at_once():
    found = problems({"name": "f", "fields": [
        {"id": "a", "type": "text", "max_length": "long"},
        {"id": "b", "type": "number", "minimum": 0},
        {"type": "text"},
    ]})
    assert [p["path"] for p in found] == ["fields[0].max_length", "fields[1].minimum", "fields[2].id"]


def test_unknown_top_level_key_is_refused():
    assert messages({"name": "f", "fields": [{"id": "a", "type": "text"}], "colour": "red"}) == [
        "'colour' is not a known setting here"]


def test_settings_keep_keys_for_other_parts_of_the_platform():
    schema = form({"id": "a", "type": "text"}, settings={"allow_drafts": False, "branding": {"color": "teal"}})
    assert schema.settings.allow_drafts is False
    assert schema.settings.model_extra == {"branding": {"color": "teal"}}


def test_review_settings_are_checked_with_the_form():
    schema = form({"id": "a", "type": "number"}, settings={"review": {"team": "T", "four_eyes_if": "item.a > 1"}})
    assert schema.settings.review is not None and schema.settings.review.assign == "team"
    with pytest.raises(FormSchemaError) as caught:
        form({"id": "a", "type": "number"}, settings={"review": {"assign": "user"}})
    assert "needs the reviewer's email" in caught.value.problems[0]["message"]


def test_parse_form_schema_refuses_text_that_is_not_json():
    with pytest.raises(FormSchemaError) as caught:
        parse_form_schema("{not json")
    assert caught.value.problems[0]["message"].startswith("The form is not valid JSON")


def test_parse_form_schema_refuses_a_list():
    with pytest.raises(FormSchemaError):
        parse_form_schema("[]")


def test_form_schema_error_is_an_invalid_input_with_every_problem_in_details():
    with pytest.raises(InvalidInput) as caught:
        parse_form_schema({"name": "f", "fields": [{"id": "a", "type": "select"}]})
    assert caught.value.code == "invalid_form"
    assert caught.value.details == [{"path": "fields[0].options", "field": "a",
                                     "message": "A choice field needs at least one option"}]
    assert str(caught.value) == "The form has 1 problem: a: A choice field needs at least one option"


def test_schema_is_immutable():
    schema = form({"id": "a", "type": "text"})
    with pytest.raises(ValidationError):
        schema.title = "changed"  # type: ignore[misc]


def test_schema_survives_a_round_trip_through_json():
    schema = parse_form_schema(EXAMPLE.read_text())
    again = parse_form_schema(schema.model_dump_json(exclude_none=True))
    assert again == schema
    assert again.key == schema.key


def test_model_json_schema_of_the_form_model_is_available_for_the_form_builder():
    spec = FormSchema.model_json_schema()
    assert "pages" in spec["properties"]
    assert "TableField" in spec["$defs"]


def test_sensitive_paths_include_table_columns():
    schema = form({"id": "revenue", "type": "number", "sensitive": True},
                  {"id": "banks", "type": "table", "fields": [{"id": "iban", "type": "text", "sensitive": True},
                                                            {"id": "bank", "type": "text"}]})
    assert schema.sensitive_paths() == ["revenue", "banks[*].iban"]


def test_field_lookup_reaches_table_columns():
    schema = form({"id": "sites", "type": "table", "fields": [{"id": "mwh", "type": "number"}]})
    assert isinstance(schema.field("sites.mwh"), NumberField)
    with pytest.raises(KeyError):
        schema.field("sites.nope")
    with pytest.raises(KeyError):
        schema.field("nope")


def test_long_text_is_its_own_type():
    assert isinstance(form({"id": "notes", "type": "textarea"}).field("notes"), LongTextField)


# --------------------------------------------------------------------------- meaning


def test_every_problem_of_meaning_is_reported_at_once():
    found = problems({"name": "f", "pages": [
        {"id": "p1", "fields": [
            {"id": "a", "type": "text", "pattern": "([a-z"},
            {"id": "a", "type": "number", "min": 10, "max": 5},
            {"id": "c", "type": "select"},
            {"id": "d", "type": "text", "visible_if": "ghost == 1"},
            {"id": "e", "type": "text", "visible_if": "a =="},
        ]}],
        "rules": [{"expression": "a > b", "message": "A must exceed B", "fields": ["a"]}]})
    by_path = {p["path"]: p["message"] for p in found}
    assert by_path["pages[0].fields[0].pattern"].startswith("The pattern is not a valid regular expression")
    assert by_path["pages[0].fields[1].id"] == "The id 'a' is used twice (first at pages[0].fields[0])"
    assert by_path["pages[0].fields[1].min"] == "'min' (10) is greater than 'max' (5)"
    assert by_path["pages[0].fields[2].options"] == "A choice field needs at least one option"
    assert by_path["pages[0].fields[3].visible_if"] == (
        "The visible_if expression refers to 'ghost', which is not a field of this form")
    assert by_path["pages[0].fields[4].visible_if"].startswith("The visible_if expression does not parse")
    assert by_path["rules[0].expression"] == "The rule expression refers to 'b', which is not a field of this form"
    assert len(found) == 7


def test_duplicate_ids_inside_a_table_are_reported_with_the_table_in_the_path():
    [p] = problems({"name": "f", "fields": [{"id": "sites", "type": "table", "fields": [
        {"id": "name", "type": "text"}, {"id": "name", "type": "text"}]}]})
    assert p == {"path": "fields[0].fields[1].id", "field": "sites.name",
                 "message": "The id 'name' is used twice (first at fields[0].fields[0])"}


def test_duplicate_ids_across_pages_are_reported():
    found = problems({"name": "f", "pages": [{"id": "p1", "fields": [{"id": "a", "type": "text"}]},
                                              {"id": "p2", "fields": [{"id": "a", "type": "text"}]}]})
    assert [p["path"] for p in found] == ["pages[1].fields[0].id"]


def test_a_column_may_share_its_id_with_a_form_field():
    schema = form({"id": "country", "type": "text"},
                  {"id": "sites", "type": "table", "fields": [{"id": "country", "type": "text"}]})
    assert schema.field("sites.country").id == "country"


def test_duplicate_page_ids_are_reported():
    found = problems({"name": "f", "pages": [{"id": "p", "fields": [{"id": "a", "type": "text"}]},
                                              {"id": "p", "fields": [{"id": "b", "type": "text"}]}]})
    assert found == [{"path": "pages[1].id", "field": None, "message": "The page id 'p' is used twice"}]


@pytest.mark.parametrize("bad_id", ["1st", "has space", "scope-1", "", "x" * 65])
def test_field_ids_must_be_usable_in_expressions(bad_id):
    found = problems({"name": "f", "fields": [{"id": bad_id, "type": "text"}, {"id": "ok", "type": "text"}]})
    assert [p["path"] for p in found] == ["fields[0].id"]


@pytest.mark.parametrize("reserved", ["answers", "row", "true", "none", "and", "loop"])
def test_reserved_words_are_refused_as_ids(reserved):
    [p] = problems({"name": "f", "fields": [{"id": reserved, "type": "text"}, {"id": "ok", "type": "text"}]})
    assert "reserved word" in p["message"]


def test_visible_if_may_read_answers_by_id_and_through_answers():
    schema = form({"id": "has_sites", "type": "boolean"},
                  {"id": "a", "type": "text", "visible_if": "answers.has_sites == true"},
                  {"id": "b", "type": "text", "visible_if": "has_sites and answers['a'] != 'x'"})
    assert schema.field("b").visible_if


def test_unknown_field_through_answers_is_reported():
    assert messages({"name": "f", "fields": [{"id": "a", "type": "text"},
                                              {"id": "b", "type": "text", "visible_if": "answers.ghost"}]}) == [
        "The visible_if expression refers to 'ghost', which is not a field of this form"]


def test_helpers_are_known_names_in_expressions():
    form({"id": "a", "type": "number"}, {"id": "b", "type": "number"},
         rules=[{"expression": "round(sum([a, b]), 2) <= max(a, 10) and today() is defined",
                 "message": "m"}])


def test_a_section_is_not_a_value_an_expression_can_read():
    assert messages({"name": "f", "fields": [{"id": "intro", "type": "section"},
                                              {"id": "a", "type": "text", "visible_if": "intro"}]}) == [
        "The visible_if expression refers to 'intro', which is not a field of this form"]


def test_table_columns_see_their_row_and_the_form():
    form({"id": "scope_1", "type": "number"},
         {"id": "sites", "type": "table", "fields": [
             {"id": "mwh", "type": "number"},
             {"id": "share", "type": "number", "visible_if": "row.mwh > 0 and scope_1 is not none"}],
          "rules": [{"expression": "mwh is none or mwh < scope_1", "message": "m", "fields": ["mwh"]}]})


def test_unknown_names_in_a_table_are_reported_as_columns():
    found = problems({"name": "f", "fields": [{"id": "sites", "type": "table", "fields": [
        {"id": "mwh", "type": "number", "visible_if": "row.nope"}],
        "rules": [{"expression": "mwh > 0", "message": "m", "fields": ["nope"]}]}]})
    assert found == [
        {"path": "fields[0].fields[0].visible_if", "field": "sites.mwh",
         "message": "The visible_if expression refers to 'nope', which is not a column of this table nor a field of this form"},
        {"path": "fields[0].rules[0].fields[0]", "field": "sites",
         "message": "The rule names 'nope', which is not a column of this table"},
    ]


def test_row_is_unknown_outside_a_table():
    assert messages({"name": "f", "fields": [{"id": "a", "type": "text", "visible_if": "row.a"}]}) == [
        "The visible_if expression refers to 'row', which is not a field of this form"]


def test_rule_naming_an_unknown_field_is_reported():
    assert messages({"name": "f", "fields": [{"id": "a", "type": "number"}],
                     "rules": [{"expression": "a > 0", "message": "m", "fields": ["b"]}]}) == [
        "The rule names 'b', which is not a field of this form"]


def test_rule_needs_a_message():
    assert messages({"name": "f", "fields": [{"id": "a", "type": "number"}],
                     "rules": [{"expression": "a > 0", "message": " "}]}) == [
        "A rule needs a message for the respondent"]


def test_conditions_that_depend_on_each_other_in_a_loop_are_reported():
    [p] = problems({"name": "f", "fields": [
        {"id": "a", "type": "boolean", "visible_if": "b"},
        {"id": "b", "type": "boolean", "visible_if": "a"}]})
    assert p["message"] == "The conditions depend on each other in a loop: a -> b -> a"


def test_condition_on_its_own_field_is_reported():
    [p] = problems({"name": "f", "fields": [{"id": "a", "type": "boolean", "visible_if": "a"}]})
    assert p == {"path": "fields[0].visible_if", "field": "a",
                 "message": "The condition depends on this field's own answer"}


def test_page_condition_reading_a_field_of_its_own_page_is_a_loop():
    [p] = problems({"name": "f", "pages": [{"id": "p", "visible_if": "a", "fields": [{"id": "a", "type": "boolean"}]}]})
    assert "loop" in p["message"] and "page p" in p["message"]


def test_loops_inside_a_table_are_reported():
    [p] = problems({"name": "f", "fields": [{"id": "t", "type": "table", "fields": [
        {"id": "a", "type": "boolean", "visible_if": "b"}, {"id": "b", "type": "boolean", "visible_if": "a"}]}]})
    assert p["field"] == "t.a" and "loop" in p["message"]


def test_page_condition_is_checked():
    assert messages({"name": "f", "pages": [{"id": "p", "visible_if": "ghost", "fields": [{"id": "a", "type": "text"}]}]}) == [
        "The visible_if expression refers to 'ghost', which is not a field of this form"]


@pytest.mark.parametrize("field, message", [
    ({"type": "text", "min_length": 5, "max_length": 2}, "'min_length' (5) is greater than 'max_length' (2)"),
    ({"type": "integer", "min": 3, "max": 1}, "'min' (3) is greater than 'max' (1)"),
    ({"type": "date", "min": "2025-02-01", "max": "2025-01-01"}, "The earliest date (2025-02-01) is after the latest (2025-01-01)"),
    ({"type": "date", "max": "next week"}, "'next week' is not a date; write YYYY-MM-DD or \"today\""),
    ({"type": "date", "min": "2025-02-30"}, "'2025-02-30' is not a date; write YYYY-MM-DD or \"today\""),
    ({"type": "multi_select", "options": ["a", "b"], "min_selected": 3}, "At least 3 choices are asked for, but there are only 2 options"),
    ({"type": "multi_select", "options": ["a", "b", "c"], "min_selected": 3, "max_selected": 2}, "'min_selected' (3) is greater than 'max_selected' (2)"),
    ({"type": "select", "options": ["a", "a"]}, "The option 'a' is listed twice"),
    ({"type": "select", "options": [1, "1"]}, "The option '1' is listed twice"),
    ({"type": "table", "fields": [{"id": "c", "type": "text"}], "min_rows": 3, "max_rows": 2}, "'min_rows' (3) is greater than 'max_rows' (2)"),
    ({"type": "table", "fields": []}, "A table needs at least one column to answer"),
    ({"type": "file", "accept": ["pdf files"]}, "'pdf files' is neither a file extension (.pdf) nor a file type (application/pdf, image/*)"),
    ({"type": "file", "max_files": 3}, "'max_files' needs 'multiple': true"),
    ({"type": "text", "allowed_values": []}, "The list of allowed values is empty"),
    ({"type": "number", "allowed_values": []}, "The list of allowed values is empty"),
    ({"type": "number", "min": 0, "default": -1}, "The default value is not a valid answer: X must be at least 0"),
    ({"type": "select", "options": ["a"], "default": "b"}, "The default value is not a valid answer: Please choose one of the options"),
    ({"type": "date", "default": "31/12/2025"}, "The default value is not a valid answer: Please enter a date as YYYY-MM-DD (for example 2025-03-31)"),
])
def test_field_options_that_contradict_themselves_are_reported(field, message):
    assert messages({"name": "f", "fields": [{"id": "x", **field}, {"id": "other", "type": "text"}]}) == [message]


@pytest.mark.parametrize("field", [
    {"type": "step", "step": 0},
    {"type": "number", "step": 0},
    {"type": "number", "decimals": -1},
    {"type": "file", "max_size_mb": 0},
    {"type": "table", "max_rows": 0, "fields": [{"id": "c", "type": "text"}]},
])
def test_limits_out_of_range_are_refused(field):
    assert problems({"name": "f", "fields": [{"id": "x", **field}]})


def test_accept_entries_may_be_extensions_with_or_without_dot_and_mime_types():
    form({"id": "x", "type": "file", "accept": [".pdf", "xlsx", "application/pdf", "image/*"]})


def test_settings_file_types_are_checked():
    assert messages({"name": "f", "fields": [{"id": "a", "type": "text"}],
                     "settings": {"allowed_file_types": ["word documents"]}})


def test_form_without_any_question_is_refused():
    assert messages({"name": "f", "fields": [{"id": "h", "type": "section", "label": "Hello"}]}) == [
        "The form has no fields to answer"]


def test_a_default_beside_a_bad_pattern_or_bound_reports_only_that():
    assert len(problems({"name": "f", "fields": [
        {"id": "a", "type": "text", "pattern": "([", "default": "x"},
        {"id": "b", "type": "date", "min": "soon", "default": "2025-01-01"}]})) == 2


def test_valid_defaults_are_kept():
    schema = form({"id": "method", "type": "select", "options": ["location", "market"], "default": "market"},
                  {"id": "n", "type": "integer", "default": 3},
                  {"id": "when", "type": "date", "min": "2020-01-01", "default": "2024-05-01"})
    assert schema.field("method").default == "market"


def test_date_bounds_from_yaml_dates_are_kept_as_iso_text():
    from datetime import date

    schema = form({"id": "d", "type": "date", "min": date(2024, 1, 1), "max": "today"})
    assert (schema.field("d").min, schema.field("d").max) == ("2024-01-01", "today")


def test_expression_names_finds_fields_answers_and_row_columns():
    assert expression_names("a > 1 and answers.b and answers['c'] and row.d and sum([e]) > 0") == (
        frozenset({"a", "answers", "row", "sum", "e"}), frozenset({"b", "c"}), frozenset({"d"}))


def test_expression_names_refuses_what_does_not_parse():
    with pytest.raises(ExpressionError):
        expression_names("a >")


def test_expression_in_braces_is_accepted_like_a_bare_expression():
    form({"id": "a", "type": "boolean"}, {"id": "b", "type": "text", "visible_if": "{{ a }}"})


def test_example_form_is_plain_json():
    json.loads(EXAMPLE.read_text())
