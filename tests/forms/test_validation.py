"""The validation engine: every field type, every option, visibility, tables, drafts and rules."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from datacollect.forms.schema import FormSchema, parse_form_schema
from datacollect.forms.validation import (
    ValidationResult,
    check_default,
    compile_validator,
    validate_submission,
)

EXAMPLE = Path(__file__).parents[2] / "examples" / "forms" / "supplier_emissions_v2.json"


def form(*fields: dict[str, Any], **kw: Any) -> FormSchema:
    return FormSchema.model_validate({"name": "f", "fields": list(fields), **kw})


def one(field: dict[str, Any], value: Any, *, partial: bool = False, **kw: Any) -> ValidationResult:
    """Validate one answer to a form of one field with the id ``x``."""
    return validate_submission(form({"id": "x", **field}, **kw), {"x": value}, partial=partial)


def accepted(field: dict[str, Any], value: Any, **kw: Any) -> Any:
    result = one(field, value, **kw)
    assert result.ok, result.errors
    return result.cleaned["x"]


def refused(field: dict[str, Any], value: Any, **kw: Any) -> str:
    result = one(field, value, **kw)
    assert not result.ok, f"{value!r} was accepted as {result.cleaned}"
    [error] = result.errors
    assert error["field"] == "x"
    return error["message"]


def ref(name: str = "report.pdf", size: int = 1000, content_type: str = "application/pdf", **kw: Any) -> dict:
    return {"key": f"blobs/{name}", "name": name, "size": size, "content_type": content_type, **kw}


# --------------------------------------------------------------------------- text and its shapes


def test_text_is_stripped():
    assert accepted({"type": "text"}, "  Acme GmbH  ") == "Acme GmbH"


def test_a_number_given_for_text_is_kept_as_text():
    assert accepted({"type": "text"}, 10115) == "10115"
    assert accepted({"type": "text"}, 2.5) == "2.5"


def test_text_refuses_a_list():
    assert refused({"type": "text"}, ["a"]) == "Please enter text"


def test_text_refuses_true():
    assert refused({"type": "text"}, True) == "Please enter text"


def test_text_length_limits():
    field = {"type": "text", "label": "Site code", "min_length": 3, "max_length": 5}
    assert refused(field, "ab") == "Site code must be at least 3 characters long"
    assert refused(field, "abcdef") == "Site code must be at most 5 characters long"
    assert accepted(field, "abcd") == "abcd"


def test_a_limit_of_one_says_character():
    assert refused({"type": "text", "label": "Code", "max_length": 1}, "xy") == "Code must be at most 1 character long"


def test_pattern_must_match_the_whole_answer():
    field = {"type": "text", "pattern": "[A-Z]{2}[0-9]+", "pattern_message": "Use the form DE123"}
    assert accepted(field, "DE123") == "DE123"
    assert refused(field, "xDE123") == "Use the form DE123"
    assert refused(field, "DE123x") == "Use the form DE123"


def test_pattern_without_a_message_says_the_format_is_wrong():
    assert refused({"type": "text", "label": "VAT number", "pattern": "[0-9]+"}, "abc") == (
        "VAT number is not in the expected format")


def test_text_allowed_values():
    field = {"type": "text", "label": "Currency", "allowed_values": ["EUR", "USD"]}
    assert accepted(field, "EUR") == "EUR"
    assert refused(field, "GBP") == "Currency must be one of: EUR, USD"


def test_long_text_keeps_its_lines():
    assert accepted({"type": "long_text"}, "  line one\nline two\n") == "line one\nline two"


def test_long_text_length_limit():
    assert refused({"type": "long_text", "label": "Notes", "max_length": 10}, "x" * 11) == (
        "Notes must be at most 10 characters long")


@pytest.mark.parametrize("value", ["jane@acme.example", "j.doe+q1@mail.acme.co.uk", "jürgen@müller.de"])
def test_valid_email_addresses_are_accepted(value):
    assert accepted({"type": "email"}, value) == value


@pytest.mark.parametrize("value", ["jane", "jane@", "@acme.com", "jane@acme", "jane doe@acme.com", "a@b@c.de",
                                   "x" * 250 + "@acme.com"])
def test_invalid_email_addresses_are_refused(value):
    assert refused({"type": "email"}, value) == "Please enter a valid email address"


@pytest.mark.parametrize("value", ["+49 30 1234567", "(030) 123-4567", "0049/30/1234567", "030.1234567"])
def test_valid_phone_numbers_are_accepted(value):
    assert accepted({"type": "phone"}, value) == value


@pytest.mark.parametrize("value", ["12345", "call me", "+49 30 1234567 ext 5", "1234567890123456"])
def test_invalid_phone_numbers_are_refused(value):
    assert refused({"type": "phone"}, value) == "Please enter a valid phone number"


def test_web_address_keeps_its_scheme():
    assert accepted({"type": "url"}, "http://acme.example/about?x=1") == "http://acme.example/about?x=1"


def test_web_address_without_scheme_gets_https():
    assert accepted({"type": "url"}, "www.acme.example") == "https://www.acme.example"


def test_web_address_with_another_scheme_is_refused():
    assert refused({"type": "url"}, "ftp://acme.example") == "Please enter a web address starting with https://"


@pytest.mark.parametrize("value", ["acme", "https://", "https://acme example.com", "not a url"])
def test_invalid_web_addresses_are_refused(value):
    assert refused({"type": "url"}, value).startswith("Please enter a valid web address")


def test_shaped_text_obeys_length_and_pattern_too():
    assert refused({"type": "email", "label": "Email", "pattern": ".*@acme\\.example",
                    "pattern_message": "Please use your company address"}, "jane@gmail.com") == (
        "Please use your company address")


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("value, cleaned", [
    (12.5, 12.5), (12, 12), ("12.5", 12.5), (" 1250 ", 1250), ("-3", -3), ("+4.0", 4.0), (".5", 0.5),
    ("1e3", 1000.0), ("1 234 567.5", 1234567.5), ("1\u00a0234", 1234), ("1'234.5", 1234.5), (0, 0),
])
def test_numbers_are_read_from_numbers_and_from_text_with_a_dot(value, cleaned):
    result = accepted({"type": "number"}, value)
    assert result == cleaned and type(result) is type(cleaned)


def test_a_decimal_comma_is_refused_rather_than_guessed():
    assert refused({"type": "number"}, "1,5") == (
        "Please enter a number without commas, with a dot for decimals (for example 1234.5)")
    assert refused({"type": "number"}, "1,234.5").startswith("Please enter a number without commas")


@pytest.mark.parametrize("value", ["twelve", "12 kg", "nan", "inf", float("nan"), float("inf"), True, [1], {"v": 1},
                                   "1e999", "--1", "1.2.3"])
def test_what_is_not_a_number_is_refused(value):
    assert refused({"type": "number"}, value) == "Please enter a number, with a dot for decimals (for example 1234.5)"


def test_number_bounds_speak_with_label_and_unit():
    field = {"type": "number", "label": "Scope 1 emissions", "unit": "t CO2e", "min": 0, "max": 1e6}
    assert refused(field, -0.5) == "Scope 1 emissions must be at least 0 t CO2e"
    assert refused(field, "2000000") == "Scope 1 emissions must be at most 1000000 t CO2e"
    assert accepted(field, 0) == 0


def test_percent_is_written_without_a_space():
    assert refused({"type": "number", "label": "Share", "unit": "%", "max": 100}, 101) == "Share must be at most 100%"


def test_number_step_is_counted_from_min():
    field = {"type": "number", "label": "Batch", "step": 0.5, "min": 0.25}
    assert accepted(field, 1.75) == 1.75
    assert refused(field, 1.5) == "Batch must be a multiple of 0.5 counted from 0.25"


def test_number_step_without_min_is_counted_from_zero():
    assert accepted({"type": "number", "step": 0.1}, 0.3) == 0.3
    assert refused({"type": "number", "label": "Quantity", "step": 0.1}, 0.35) == "Quantity must be a multiple of 0.1"


def test_number_decimals():
    field = {"type": "number", "label": "Scope 2", "decimals": 3}
    assert accepted(field, "830.125") == 830.125
    assert accepted(field, 830) == 830
    assert refused(field, "830.1255") == "Scope 2 can have at most 3 decimal places"
    assert refused({"type": "number", "label": "Count", "decimals": 0}, 1.5) == "Count must be a whole number"
    assert refused({"type": "number", "label": "Cost", "decimals": 1}, 0.25) == "Cost can have at most 1 decimal place"


def test_number_allowed_values():
    field = {"type": "number", "label": "Voltage", "allowed_values": [110, 230.5]}
    assert accepted(field, "230.5") == 230.5
    assert refused(field, 220) == "Voltage must be one of: 110, 230.5"


@pytest.mark.parametrize("value, cleaned", [(3, 3), ("42", 42), (12.0, 12), ("12.0", 12), ("1 000", 1000), (-7, -7)])
def test_integers(value, cleaned):
    result = accepted({"type": "integer"}, value)
    assert result == cleaned and type(result) is int


@pytest.mark.parametrize("value", [12.5, "12.5", "twelve", False])
def test_what_is_not_a_whole_number_is_refused(value):
    assert refused({"type": "integer"}, value) == "Please enter a whole number"


def test_integer_bounds_step_and_allowed_values():
    assert refused({"type": "integer", "label": "Employees", "min": 1}, 0) == "Employees must be at least 1"
    assert refused({"type": "integer", "label": "Employees", "max": 10}, 11) == "Employees must be at most 10"
    assert refused({"type": "integer", "label": "Pallets", "step": 4}, 10) == "Pallets must be a multiple of 4"
    assert refused({"type": "integer", "label": "Year", "allowed_values": [2024, 2025]}, 2023) == (
        "Year must be one of: 2024, 2025")


# --------------------------------------------------------------------------- dates


def test_dates_are_iso_text():
    assert accepted({"type": "date"}, "2025-03-31") == "2025-03-31"
    assert accepted({"type": "date"}, " 2025-03-31 ") == "2025-03-31"


def test_date_and_datetime_objects_are_accepted_from_python_callers():
    assert accepted({"type": "date"}, date(2025, 3, 31)) == "2025-03-31"
    assert accepted({"type": "date"}, datetime(2025, 3, 31, 12, 0)) == "2025-03-31"


@pytest.mark.parametrize("value", ["31/03/2025", "2025-3-31", "20250331", "2025-03-31T00:00:00", 20250331, "soon"])
def test_other_date_spellings_are_refused(value):
    assert refused({"type": "date"}, value) == "Please enter a date as YYYY-MM-DD (for example 2025-03-31)"


def test_a_date_that_is_not_in_the_calendar_is_refused():
    assert refused({"type": "date"}, "2025-02-30") == "2025-02-30 is not a date in the calendar"


def test_date_bounds():
    field = {"type": "date", "label": "Start", "min": "2024-01-01", "max": "2024-12-31"}
    assert refused(field, "2023-12-31") == "Start must be on or after 2024-01-01"
    assert refused(field, "2025-01-01") == "Start must be on or before 2024-12-31"
    assert accepted(field, "2024-12-31") == "2024-12-31"


def test_today_as_a_bound_allows_today_anywhere_on_earth():
    today = datetime.now(UTC).date()
    field = {"type": "date", "label": "End", "max": "today"}
    assert accepted(field, today.isoformat()) == today.isoformat()
    assert refused(field, (today + timedelta(days=3)).isoformat()) == "End cannot be in the future"
    assert refused({"type": "date", "label": "Due", "min": "today"}, (today - timedelta(days=3)).isoformat()) == (
        "Due cannot be in the past")


# --------------------------------------------------------------------------- choices


def test_select_takes_an_option_value():
    assert accepted({"type": "select", "options": ["DE", "FR"]}, "FR") == "FR"


def test_select_finds_a_numeric_option_from_text_and_back():
    assert accepted({"type": "select", "options": [1, 2]}, "2") == 2
    assert accepted({"type": "select", "options": ["1", "2"]}, 2) == "2"
    assert accepted({"type": "select", "options": [1, 2]}, 2.0) == 2


def test_select_refuses_what_is_not_an_option():
    assert refused({"type": "select", "options": ["DE", "FR"]}, "Germany") == "Please choose one of the options"
    assert refused({"type": "select", "options": ["DE"]}, ["DE"]) == "Please choose one of the options"
    assert refused({"type": "select", "options": [1]}, True) == "Please choose one of the options"


def test_multi_select_takes_a_list_in_the_given_order_without_repeats():
    field = {"type": "multi_select", "options": [1, 2, 3, 4]}
    assert accepted(field, [4, "1", 4]) == [4, 1]


def test_multi_select_takes_a_single_value_as_a_list_of_one():
    assert accepted({"type": "multi_select", "options": ["a", "b"]}, "b") == ["b"]


def test_multi_select_refuses_an_unknown_option_by_name():
    assert refused({"type": "multi_select", "options": ["a", "b"]}, ["a", "z"]) == (
        "Please choose from the options; 'z' is not one of them")


def test_multi_select_counts():
    field = {"type": "multi_select", "options": ["a", "b", "c"], "min_selected": 2, "max_selected": 2}
    assert refused(field, ["a"]) == "Please choose at least 2 options"
    assert refused(field, ["a", "b", "c"]) == "Please choose at most 2 options"
    assert accepted(field, ["a", "c"]) == ["a", "c"]
    assert refused({"type": "multi_select", "options": ["a", "b"], "max_selected": 1}, ["a", "b"]) == (
        "Please choose at most 1 option")


@pytest.mark.parametrize("value, cleaned", [(True, True), (False, False), ("yes", True), ("No", False),
                                            ("TRUE", True), ("false", False), ("1", True), ("0", False),
                                            (1, True), (0, False), (" y ", True), ("off", False)])
def test_booleans(value, cleaned):
    assert accepted({"type": "boolean"}, value) is cleaned


@pytest.mark.parametrize("value", ["maybe", 2, 1.0, ["yes"]])
def test_what_is_not_yes_or_no_is_refused(value):
    assert refused({"type": "boolean"}, value) == "Please answer yes or no"


def test_a_required_boolean_may_be_answered_no():
    assert accepted({"type": "boolean", "required": True}, False) is False


# --------------------------------------------------------------------------- files


def test_a_file_reference_is_kept_with_its_four_keys():
    assert accepted({"type": "file"}, ref(extra="dropped")) == ref()


def test_a_file_over_the_field_limit_is_refused_with_both_sizes():
    assert refused({"type": "file", "max_size_mb": 1}, ref(size=3 * 1024 * 1024)) == (
        "The file report.pdf is too large (3.0 MB); the limit is 1 MB")


def test_the_form_limit_applies_when_the_field_has_none():
    field = {"type": "file"}
    assert refused(field, ref(size=6 * 1024 * 1024), settings={"max_file_mb": 5}).endswith("the limit is 5 MB")
    assert accepted(field, ref(size=4 * 1024 * 1024), settings={"max_file_mb": 5})


def test_file_types_match_by_extension_or_by_mime_type():
    field = {"type": "file", "accept": [".pdf", "application/vnd.ms-excel", "image/*"]}
    assert accepted(field, ref("REPORT.PDF", content_type="application/octet-stream"))
    assert accepted(field, ref("figures", content_type="application/vnd.ms-excel"))
    assert accepted(field, ref("site.jpeg", content_type="image/jpeg; q=1"))
    assert refused(field, ref("notes.docx", content_type="application/msword")) == (
        "Files of this type are not accepted here; please upload .pdf, application/vnd.ms-excel, image/*")


def test_the_form_file_types_apply_when_the_field_has_none():
    assert refused({"type": "file"}, ref("a.exe", content_type="application/x-msdownload"),
                   settings={"allowed_file_types": ["pdf"]}).startswith("Files of this type are not accepted")


@pytest.mark.parametrize("value", ["report.pdf", {"name": "a.pdf"}, ref(size="12"), ref(size=-1), ref(key=""),
                                   {**ref(), "content_type": None}, ref(size=True)])
def test_a_reference_that_cannot_be_read_is_refused(value):
    assert refused({"type": "file"}, value) == "The upload could not be read; please upload the file again"


def test_a_single_file_field_takes_a_list_of_one_but_not_of_two():
    assert accepted({"type": "file"}, [ref()]) == ref()
    assert refused({"type": "file"}, [ref(), ref("b.pdf")]) == "Only one file can be uploaded here"


def test_multiple_files_report_each_bad_file_by_index():
    result = one({"type": "file", "multiple": True, "max_size_mb": 1},
                 [ref("a.pdf"), ref("b.pdf", size=5 * 1024 * 1024), "junk"])
    assert result.errors == [
        {"field": "x[1]", "message": "The file b.pdf is too large (5.0 MB); the limit is 1 MB", "code": "max_size"},
        {"field": "x[2]", "message": "The upload could not be read; please upload the file again", "code": "file"},
    ]


def test_multiple_files_are_a_list_and_max_files_counts_them():
    field = {"type": "file", "multiple": True, "max_files": 2}
    assert accepted(field, ref()) == [ref()]
    assert refused(field, [ref("a.pdf"), ref("b.pdf"), ref("c.pdf")]) == "Please upload at most 2 files"


def test_small_files_are_reported_in_kilobytes():
    assert "(2 KB)" in refused({"type": "file", "max_size_mb": 0.001}, ref(size=2048))


def test_messages_of_a_sensitive_field_do_not_repeat_the_answer():
    assert refused({"type": "multi_select", "options": ["a"], "sensitive": True}, ["secret"]) == (
        "Please choose from the options")
    assert refused({"type": "date", "sensitive": True}, "1980-02-30") == "This is not a date in the calendar"
    assert refused({"type": "file", "sensitive": True, "max_size_mb": 1}, ref("payroll.pdf", size=2 << 20)) == (
        "The file is too large (2.0 MB); the limit is 1 MB")


# --------------------------------------------------------------------------- required and empty


@pytest.mark.parametrize("empty", [None, "", "   ", [], {}])
def test_an_empty_answer_to_a_required_field_is_required(empty):
    assert refused({"type": "text", "required": True}, empty) == "This field is required"


@pytest.mark.parametrize("kind", ["text", "long_text", "number", "integer", "email", "phone", "url", "date",
                                  "boolean", "file"])
def test_an_empty_optional_answer_is_none(kind):
    assert accepted({"type": kind}, "") is None


@pytest.mark.parametrize("field", [{"type": "multi_select", "options": ["a"]},
                                   {"type": "file", "multiple": True},
                                   {"type": "table", "fields": [{"id": "c", "type": "text"}]}])
def test_an_empty_optional_list_is_an_empty_list(field):
    assert accepted(field, None) == []


def test_a_missing_key_is_an_empty_answer():
    result = validate_submission(form({"id": "a", "type": "text", "required": True}, {"id": "b", "type": "text"}), {})
    assert result.errors == [{"field": "a", "message": "This field is required", "code": "required"}]
    assert result.cleaned == {"b": None}


def test_cleaned_answers_follow_the_form_order_and_are_json():
    schema = form({"id": "b", "type": "date"}, {"id": "a", "type": "number"})
    result = validate_submission(schema, {"a": "1.5", "b": date(2025, 1, 2)})
    assert list(result.cleaned) == ["b", "a"]
    assert json.loads(json.dumps(result.cleaned)) == {"b": "2025-01-02", "a": 1.5}


def test_cleaned_lists_are_not_shared_between_submissions():
    schema = form({"id": "m", "type": "multi_select", "options": ["a"]})
    first = validate_submission(schema, {}).cleaned
    first["m"].append("a")
    assert validate_submission(schema, {}).cleaned["m"] == []


# --------------------------------------------------------------------------- unknown keys


def test_unknown_keys_are_reported_not_stored():
    result = validate_submission(form({"id": "a", "type": "text"}), {"a": "x", "b": "y"})
    assert result.errors == [{"field": "b", "message": "This form has no field 'b'", "code": "unknown_field"}]
    assert "b" not in result.cleaned


def test_an_answer_to_a_heading_is_reported():
    schema = form({"id": "intro", "type": "section", "label": "About you"}, {"id": "a", "type": "text"})
    assert validate_submission(schema, {"intro": "x"}).errors == [
        {"field": "intro", "message": "'intro' is a heading and takes no answer", "code": "unknown_field"}]


def test_answers_that_are_not_an_object_are_refused():
    result = validate_submission(form({"id": "a", "type": "text"}), ["a"])  # type: ignore[arg-type]
    assert result.errors == [{"field": "", "message": "The answers could not be read", "code": "type"}]


# --------------------------------------------------------------------------- visibility


def conditional() -> FormSchema:
    return form({"id": "has_sites", "type": "boolean"},
                {"id": "site_count", "type": "integer", "required": True, "min": 1, "visible_if": "has_sites == true"})


def test_hidden_field_is_not_required():
    assert validate_submission(conditional(), {"has_sites": False}).ok


def test_visible_field_is_required():
    assert validate_submission(conditional(), {"has_sites": "yes"}).errors == [
        {"field": "site_count", "message": "This field is required", "code": "required"}]


def test_hidden_field_value_is_dropped():
    result = validate_submission(conditional(), {"has_sites": False, "site_count": 3})
    assert result.ok
    assert result.cleaned == {"has_sites": False}


def test_invalid_value_of_a_hidden_field_is_not_reported():
    assert validate_submission(conditional(), {"has_sites": False, "site_count": "many"}).ok


def test_condition_reads_the_cast_answer():
    assert validate_submission(conditional(), {"has_sites": "yes", "site_count": "2"}).cleaned == {
        "has_sites": True, "site_count": 2}


def test_condition_may_read_answers_by_name():
    schema = form({"id": "a", "type": "number"}, {"id": "b", "type": "text", "required": True,
                                                  "visible_if": "answers.a > 10"})
    assert validate_submission(schema, {"a": 5}).ok
    assert not validate_submission(schema, {"a": 50}).ok


def test_condition_that_cannot_be_evaluated_hides_the_field():
    schema = form({"id": "revenue", "type": "number"},
                  {"id": "audit", "type": "text", "required": True, "visible_if": "revenue > 1000000"})
    assert validate_submission(schema, {}).cleaned == {"revenue": None}


def test_hiding_chains_through_conditions_in_any_order():
    schema = form({"id": "c", "type": "text", "required": True, "visible_if": "b == 'yes'"},
                  {"id": "a", "type": "boolean"},
                  {"id": "b", "type": "text", "visible_if": "a"})
    result = validate_submission(schema, {"a": False, "b": "yes"})
    assert result.ok, result.errors
    assert result.cleaned == {"a": False}
    assert not validate_submission(schema, {"a": True, "b": "yes"}).ok


def test_a_hidden_page_hides_its_fields():
    schema = FormSchema.model_validate({"name": "f", "pages": [
        {"id": "intro", "fields": [{"id": "has_sites", "type": "boolean"}]},
        {"id": "sites", "visible_if": "has_sites", "fields": [
            {"id": "site_count", "type": "integer", "required": True},
            {"id": "biggest", "type": "text", "required": True, "visible_if": "site_count > 1"}]}]})
    assert validate_submission(schema, {"has_sites": False, "site_count": 4}).cleaned == {"has_sites": False}
    assert [e["field"] for e in validate_submission(schema, {"has_sites": True, "site_count": 4}).errors] == ["biggest"]


# --------------------------------------------------------------------------- tables


def sites_form(**table: Any) -> FormSchema:
    return form({"id": "scope_1", "type": "number"},
                {"id": "sites", "type": "table", "label": "Sites", **table, "fields": [
                    {"id": "name", "type": "text", "required": True},
                    {"id": "country", "type": "select", "options": ["DE", "FR"]},
                    {"id": "mwh", "type": "number", "min": 0},
                    {"id": "share", "type": "number", "max": 100, "visible_if": "mwh is not none and mwh > 0"},
                    {"id": "site_scope_1", "type": "number"}],
                 "rules": [{"expression": "site_scope_1 is none or site_scope_1 <= scope_1",
                            "message": "More than the company", "fields": ["site_scope_1"]}]})


def test_rows_are_validated_with_indexed_paths():
    result = validate_submission(sites_form(), {"sites": [
        {"name": "A", "country": "DE"},
        {"name": "B", "country": "DE", "mwh": -1},
        {"name": "", "country": "XX", "colour": "red"},
    ]})
    assert result.errors == [
        {"field": "sites[1].mwh", "message": "Mwh must be at least 0", "code": "min"},
        {"field": "sites[2].colour", "message": "This table has no column 'colour'", "code": "unknown_field"},
        {"field": "sites[2].name", "message": "This field is required", "code": "required"},
        {"field": "sites[2].country", "message": "Please choose one of the options", "code": "option"},
    ]


def test_rows_are_cleaned():
    result = validate_submission(sites_form(), {"sites": [{"name": " A ", "mwh": "12.5", "share": "40"}]})
    assert result.cleaned["sites"] == [{"name": "A", "country": None, "mwh": 12.5, "share": 40, "site_scope_1": None}]


def test_a_column_condition_reads_its_own_row():
    result = validate_submission(sites_form(), {"sites": [{"name": "A", "mwh": 0, "share": 500},
                                                          {"name": "B", "mwh": 10, "share": 500}]})
    assert [e["field"] for e in result.errors] == ["sites[1].share"]
    assert "share" not in result.cleaned["sites"][0]


def test_a_row_rule_reads_the_row_and_the_form():
    result = validate_submission(sites_form(), {"scope_1": 100, "sites": [{"name": "A", "site_scope_1": 50},
                                                                          {"name": "B", "site_scope_1": 150}]})
    assert result.errors == [{"field": "sites[1].site_scope_1", "message": "More than the company", "code": "rule"}]


def test_row_counts():
    schema = sites_form(min_rows=2, max_rows=3)
    assert validate_submission(schema, {"sites": [{"name": "A"}]}).errors == [
        {"field": "sites", "message": "Please add at least 2 rows", "code": "min_rows"}]
    assert validate_submission(schema, {"sites": [{"name": "A"}] * 4}).errors == [
        {"field": "sites", "message": "Sites can have at most 3 rows", "code": "max_rows"}]


def test_an_optional_empty_table_ignores_min_rows():
    assert validate_submission(sites_form(min_rows=2), {"sites": []}).ok


def test_a_required_table_needs_a_row():
    assert validate_submission(sites_form(required=True), {"sites": []}).errors == [
        {"field": "sites", "message": "This field is required", "code": "required"}]


def test_rows_that_cannot_be_read_are_reported():
    assert validate_submission(sites_form(), {"sites": "A, B"}).errors == [
        {"field": "sites", "message": "Please give the rows as a list", "code": "type"}]
    result = validate_submission(sites_form(), {"sites": ["A", {"name": "B"}]})
    assert result.errors == [{"field": "sites[0]", "message": "This row could not be read", "code": "type"}]
    assert [row.get("name") for row in result.cleaned["sites"]] == [None, "B"]  # rows keep their place


def test_a_table_without_expressions_is_validated_too():
    schema = form({"id": "lines", "type": "table", "fields": [{"id": "sku", "type": "text", "required": True},
                                                              {"id": "qty", "type": "integer", "min": 1}]})
    result = validate_submission(schema, {"lines": [{"sku": "A1", "qty": "3"}, {"qty": 0}]})
    assert [e["field"] for e in result.errors] == ["lines[1].sku", "lines[1].qty"]
    assert result.cleaned == {"lines": [{"sku": "A1", "qty": 3}, {}]}  # rows keep their place


def test_tables_inside_tables_have_nested_paths():
    schema = form({"id": "sites", "type": "table", "fields": [
        {"id": "name", "type": "text"},
        {"id": "meters", "type": "table", "fields": [{"id": "kwh", "type": "number", "min": 0}]}]})
    result = validate_submission(schema, {"sites": [{"name": "A", "meters": [{"kwh": 1}, {"kwh": -1}]}]})
    assert [e["field"] for e in result.errors] == ["sites[0].meters[1].kwh"]


def test_a_hidden_table_is_not_read():
    schema = form({"id": "has_sites", "type": "boolean"},
                  {"id": "sites", "type": "table", "required": True, "visible_if": "has_sites",
                   "fields": [{"id": "name", "type": "text", "required": True}]})
    assert validate_submission(schema, {"has_sites": False, "sites": [{"nope": 1}]}).ok


# --------------------------------------------------------------------------- rules


def totals_form(**kw: Any) -> FormSchema:
    return form({"id": "scope_1", "type": "number"}, {"id": "scope_2", "type": "number"},
                {"id": "total", "type": "number", "required": True},
                rules=[{"id": "total", "expression": "total == scope_1 + scope_2",
                        "message": "The total must be scope 1 + scope 2", "fields": ["total", "scope_1"]}], **kw)


def test_a_broken_rule_refuses_the_submission_with_its_message():
    result = validate_submission(totals_form(), {"scope_1": 1, "scope_2": 2, "total": 4})
    assert result.errors == [{"field": "total", "message": "The total must be scope 1 + scope 2", "code": "rule",
                              "fields": ["total", "scope_1"], "rule": "total"}]


def test_a_kept_rule_passes():
    assert validate_submission(totals_form(), {"scope_1": "1", "scope_2": 2, "total": 3}).ok


def test_a_rule_is_skipped_while_a_field_it_reads_is_wrong():
    result = validate_submission(totals_form(), {"scope_1": "one", "scope_2": 2, "total": 4})
    assert [e["code"] for e in result.errors] == ["type"]


def test_a_rule_that_fails_on_an_empty_answer_is_skipped():
    result = validate_submission(totals_form(), {"scope_1": 1, "total": 4})
    assert result.ok


def test_a_rule_that_fails_with_every_answer_given_refuses_with_its_message():
    schema = form({"id": "a", "type": "text"}, {"id": "b", "type": "number"},
                  rules=[{"expression": "a > b", "message": "A must be more than B", "fields": ["a"]}])
    [error] = validate_submission(schema, {"a": "x", "b": 1}).errors
    assert (error["field"], error["message"], error["code"]) == ("a", "A must be more than B", "rule_error")
    assert "TypeError" in error["detail"]


def test_a_rule_may_speak_of_empty_answers():
    schema = form({"id": "email", "type": "email"}, {"id": "phone", "type": "phone"},
                  rules=[{"expression": "email or phone", "message": "Please give an email address or a phone number"}])
    assert validate_submission(schema, {}).errors == [
        {"field": "", "message": "Please give an email address or a phone number", "code": "rule"}]
    assert validate_submission(schema, {"phone": "+49 30 1234567"}).ok


def test_a_rule_sees_hidden_fields_as_empty_and_the_helpers():
    schema = form({"id": "a", "type": "number"}, {"id": "show_b", "type": "boolean"},
                  {"id": "b", "type": "number", "visible_if": "show_b"}, {"id": "total", "type": "number"},
                  rules=[{"expression": "total == sum([a, b])", "message": "m", "fields": ["total"]}])
    assert validate_submission(schema, {"a": 1, "show_b": False, "b": 5, "total": 1}).ok
    assert not validate_submission(schema, {"a": 1, "show_b": True, "b": 5, "total": 1}).ok


def test_rules_read_cleaned_tables():
    schema = form({"id": "total", "type": "number"},
                  {"id": "lines", "type": "table", "fields": [{"id": "amount", "type": "number"}]},
                  rules=[{"expression": "sum(lines, 'amount') == total", "message": "m", "fields": ["total"]}])
    assert validate_submission(schema, {"total": 3.5, "lines": [{"amount": "1.5"}, {"amount": "2"}]}).ok


# --------------------------------------------------------------------------- drafts


def test_a_draft_does_not_need_required_fields():
    assert validate_submission(totals_form(), {}, partial=True).ok


def test_a_draft_still_checks_types_and_limits():
    result = validate_submission(conditional(), {"has_sites": "perhaps"}, partial=True)
    assert result.errors == [{"field": "has_sites", "message": "Please answer yes or no", "code": "type"}]
    result = validate_submission(conditional(), {"has_sites": True, "site_count": 0}, partial=True)
    assert [e["code"] for e in result.errors] == ["min"]


def test_a_draft_still_reports_unknown_keys():
    assert not validate_submission(conditional(), {"nope": 1}, partial=True).ok


def test_a_draft_does_not_check_rules_or_minimum_counts():
    assert validate_submission(totals_form(), {"scope_1": 1, "scope_2": 2, "total": 4}, partial=True).ok
    assert validate_submission(sites_form(min_rows=3), {"sites": [{"country": "DE"}]}, partial=True).ok
    field = {"type": "multi_select", "options": ["a", "b"], "min_selected": 2}
    assert one(field, ["a"], partial=True).ok


def test_a_draft_keeps_maximum_counts():
    assert not validate_submission(sites_form(max_rows=1), {"sites": [{}, {}]}, partial=True).ok


# --------------------------------------------------------------------------- the engine


def test_the_compiled_validator_is_cached_on_the_schema():
    schema = conditional()
    assert compile_validator(schema) is compile_validator(schema)
    assert compile_validator(schema) is not compile_validator(conditional())


def test_messages_group_errors_by_field():
    result = validate_submission(sites_form(), {"sites": [{"mwh": -1}]})
    assert result.messages() == {"sites[0].name": ["This field is required"],
                                 "sites[0].mwh": ["Mwh must be at least 0"]}


def test_check_default_answers_the_reason():
    schema = form({"id": "n", "type": "number", "min": 0})
    assert check_default(schema.field("n"), 5) is None
    assert check_default(schema.field("n"), -5) == "N must be at least 0"


# --------------------------------------------------------------------------- the example form


def example_answers(**changes: Any) -> dict[str, Any]:
    answers = {
        "company_name": "Acme Metal GmbH", "vat_id": "DE123456789", "country": "DE",
        "contact_name": "Jane Doe", "contact_email": "jane@acme.example", "contact_phone": "+49 30 1234567",
        "website": "acme.example", "employees": "250", "annual_revenue": "12 500 000.50",
        "period_start": "2025-01-01", "period_end": "2025-03-31", "reporting_standard": "ghg_protocol",
        "scope_1": "1250.5", "scope_2_method": "market", "scope_2": 830.25, "reports_scope_3": "yes",
        "scope_3": 10000, "scope_3_categories": ["1", 4], "total_emissions": 12080.75, "notes": "",
        "has_sites": True,
        "sites": [
            {"site_name": "Plant A", "site_country": "DE", "electricity_mwh": 1200, "renewable_share": 45,
             "site_scope_1": 800},
            {"site_name": "Plant B", "site_country": "PL", "electricity_mwh": 0, "site_scope_1": 400.5},
        ],
        "certificate": ref("verification.pdf", size=230_000),
        "verified": False, "signatory": "Jane Doe", "confirm": True,
    }
    return answers | changes


@pytest.fixture(scope="module")
def example() -> FormSchema:
    return parse_form_schema(EXAMPLE.read_text())


def test_example_form_accepts_a_complete_answer(example):
    result = validate_submission(example, example_answers())
    assert result.ok, result.errors
    assert result.cleaned["website"] == "https://acme.example"
    assert result.cleaned["scope_3_categories"] == [1, 4]
    assert result.cleaned["sites"][1] == {"site_name": "Plant B", "site_country": "PL", "electricity_mwh": 0,
                                          "site_scope_1": 400.5}
    assert "verifier" not in result.cleaned


def test_example_form_without_scope_3_drops_it_from_the_total(example):
    result = validate_submission(example, example_answers(reports_scope_3=False, scope_3_categories=[],
                                                          total_emissions=2080.75))
    assert result.ok, result.errors
    assert "scope_3" not in result.cleaned


def test_example_form_checks_its_rules(example):
    result = validate_submission(example, example_answers(
        total_emissions=1, period_end="2024-12-31", confirm=False,
        sites=[{"site_name": "Plant A", "site_country": "DE", "site_scope_1": 2000}]))
    assert {(e["field"], e.get("rule")) for e in result.errors} == {
        ("period_end", "period_order"), ("total_emissions", "total_matches_scopes"),
        ("sites[0].site_scope_1", "site_within_company"), ("confirm", "signed_off")}


def test_example_form_checks_the_sum_of_the_sites(example):
    result = validate_submission(example, example_answers(
        sites=[{"site_name": "Plant A", "site_country": "DE", "site_scope_1": 1000},
               {"site_name": "Plant B", "site_country": "DE", "site_scope_1": 1000}]))
    assert [(e["field"], e.get("rule")) for e in result.errors] == [("sites", "sites_within_scope_1")]


def test_example_form_reports_what_a_respondent_can_fix(example):
    result = validate_submission(example, example_answers(
        scope_1="-3", contact_email="jane", reporting_standard="other", verified=True,
        certificate=ref("photo.png", content_type="image/png")))
    assert result.messages() == {
        "contact_email": ["Please enter a valid email address"],
        "standard_other": ["This field is required"],
        "scope_1": ["Scope 1 emissions must be at least 0 t CO2e"],
        "certificate": ["Files of this type are not accepted here; please upload .pdf, application/pdf"],
        "verifier": ["This field is required"],
    }


def test_example_form_saves_an_almost_empty_draft(example):
    assert validate_submission(example, {"company_name": "Acme"}, partial=True).ok
