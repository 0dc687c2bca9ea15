"""The fast paths of bulk import give the answers of the plain ones: conditions and rules answered
from memory, dates read once, rows checked by worker processes. Bad rows keep their lines and
reasons, and the outcomes come back in file order."""

from __future__ import annotations

import csv
import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from datacollect.forms import bulk
from datacollect.forms.bulk import import_rows
from datacollect.forms.schema import parse_form_schema
from datacollect.forms.validation import FormValidator, _deciding_names, compile_validator
from tests.forms.helpers import example_form, good_answers
from tests.forms.test_bulk import ROW, SCHEMA, write_csv

NUMBER_FORM = {"name": "figures", "version": 1, "fields": [
    {"id": "amount", "type": "number", "label": "Amount"},
    {"id": "why_one", "type": "text", "label": "Why one", "required": True, "visible_if": "str(amount) == '1'"},
    {"id": "why_minus_zero", "type": "text", "label": "Why minus zero", "required": True,
     "visible_if": "str(amount) == '-0.0'"},
    {"id": "flag", "type": "boolean", "label": "Flag"},
    {"id": "why_flag", "type": "text", "label": "Why flag", "required": True, "visible_if": "flag == 1 and flag is sameas true"},
]}

#: bad rows of the example form and what each one is refused for: (line, [(field, code, message)])
BAD_ROWS: list[tuple[dict[str, str], list[tuple[str, str, str]]]] = [
    ({**ROW, "scope_1": "1,5"},
     [("scope_1", "type", "Please enter a number without commas, with a dot for decimals (for example 1234.5)")]),
    ({**ROW, "scope_1": "n/a", "total_emissions": "lots"},
     [("scope_1", "type", "Please enter a number, with a dot for decimals (for example 1234.5)"),
      ("total_emissions", "type", "Please enter a number, with a dot for decimals (for example 1234.5)")]),
    ({**ROW, "country": "Germany", "contact_email": "jana@"},
     [("country", "option", "Please choose one of the options"),
      ("contact_email", "email", "Please enter a valid email address")]),
    ({**ROW, "period_start": "2019-12-31", "period_end": "2025-02-30"},
     [("period_start", "min", "Start of the reporting period must be on or after 2020-01-01"),
      ("period_end", "type", "2025-02-30 is not a date in the calendar")]),
    ({**ROW, "period_end": "2024-12-31"},
     [("period_end", "rule", "The end of the reporting period must be after its start")]),
    ({**ROW, "total_emissions": "1999"},
     [("total_emissions", "rule", "Total emissions must equal Scope 1 + Scope 2 (+ Scope 3 if reported)")]),
    ({**ROW, "reporting_standard": "other"}, [("standard_other", "required", "This field is required")]),
    ({**ROW, "reports_scope_3": "yes", "scope_3": "10", "scope_3_categories": "1; 8", "total_emissions": "2010.5"},
     [("scope_3_categories", "option", "Please choose from the options; '8' is not one of them")]),
    ({**ROW, "scope_2": "-1", "employees": "12.5", "vat_id": "de 123"},
     [("vat_id", "pattern", "Please enter the VAT number with its country prefix and without spaces, for example "
                            "DE123456789"),
      ("employees", "type", "Please enter a whole number"),
      ("scope_2", "min", "Scope 2 emissions must be at least 0 t CO2e")]),
    ({**ROW, "confirm": "no", "has_sites": "maybe"},
     [("has_sites", "type", "Please answer yes or no"),
      ("confirm", "rule", "Please confirm the figures before submitting")]),
    ({**ROW, "company_name": "", "signatory": "  "},
     [("company_name", "required", "This field is required"), ("signatory", "required", "This field is required")]),
    ({**ROW, "website": "ftp://acme.example", "contact_phone": "12"},
     [("contact_phone", "phone", "Please enter a valid phone number"),
      ("website", "url", "Please enter a web address starting with https://")]),
]


def outcomes(path: Path, **kw: Any) -> list[tuple[Any, ...]]:
    return [(o.line, o.ok, o.answers, o.errors, o.row) for o in import_rows(SCHEMA, path, **kw)]


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of three rows, so that a small file goes through many chunks and the window."""
    monkeypatch.setattr(bulk, "CHUNK_ROWS", 3)


@pytest.mark.parametrize("workers", [0, 2])
def test_each_bad_row_comes_back_with_its_line_and_reasons(tmp_path: Path, workers: int, small_chunks: None) -> None:
    rows = [ROW] + [r for r, _ in BAD_ROWS] + [ROW]
    out = list(import_rows(SCHEMA, write_csv(tmp_path / "bad.csv", rows), workers=workers))
    assert [(o.line, o.ok) for o in out] == [(2, True)] + [(3 + i, False) for i in range(len(BAD_ROWS))] + [
        (3 + len(BAD_ROWS), True)]
    for o, (_, expected) in zip(out[1:-1], BAD_ROWS, strict=True):
        assert [(e["field"], e["code"], e["message"]) for e in o.errors] == expected, o.line


def messy_file(path: Path, n: int) -> Path:
    """Good and bad rows, blank lines, a quoted line break, short rows and an unknown column."""
    header = [*ROW, "internal_ref"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i in range(n):
            row = {**ROW, "company_name": f"Supplier {i}", "internal_ref": f"R{i}"}
            if i % 7 == 1:
                row["scope_1"] = "n/a"
            if i % 11 == 2:
                row["notes"] = "two\nlines"
                header_row = [row.get(h, "") for h in header]
                w.writerow(header_row)
                continue
            if i % 13 == 3:
                w.writerow([])
            cells = [row.get(h, "") for h in header]
            if i % 17 == 4:
                cells = cells[:5]
            w.writerow(cells)
    return path


def test_workers_give_the_same_outcomes_in_the_same_order(tmp_path: Path, small_chunks: None) -> None:
    path = messy_file(tmp_path / "messy.csv", 200)
    here = outcomes(path, workers=0)
    assert outcomes(path, workers=2) == here
    assert outcomes(path, workers=1) == here
    assert here[0][0] == 1 and here[0][3][0]["code"] == "unknown_column"
    lines = [o[0] for o in here[1:]]
    assert lines == sorted(lines) and len(lines) == 200
    assert {o[1] for o in here[1:]} == {True, False}


def test_a_large_file_is_checked_by_workers_without_being_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                small_chunks: None) -> None:
    path = messy_file(tmp_path / "messy.csv", 60)
    used: list[int] = []
    real = bulk._check_in_workers

    def spy(*args: Any) -> Any:
        used.append(args[-1])  # the workers
        return real(*args)

    monkeypatch.setattr(bulk, "_check_in_workers", spy)
    monkeypatch.setattr(bulk, "_cores", lambda: 2)
    monkeypatch.setattr(bulk, "PARALLEL_MIN_BYTES", path.stat().st_size + 1)
    here = outcomes(path)
    assert used == []
    monkeypatch.setattr(bulk, "PARALLEL_MIN_BYTES", path.stat().st_size)
    assert outcomes(path) == here and used == [2]


def test_a_reader_that_stops_early_leaves_no_worker_behind(tmp_path: Path, small_chunks: None) -> None:
    path = messy_file(tmp_path / "messy.csv", 100)
    rows = import_rows(SCHEMA, path, workers=2)
    first = [next(rows) for _ in range(5)]
    assert [o.line for o in first][:2] == [1, 2]
    assert multiprocessing.active_children()  # the rows are being checked by workers
    rows.close()
    assert multiprocessing.active_children() == []


def test_conditions_and_rules_answered_from_memory_agree_with_evaluating_them_every_time() -> None:
    schema = parse_form_schema(example_form())
    remembering = compile_validator(schema)
    plain = FormValidator(schema, remember=False)
    cases = [good_answers(), good_answers(reporting_standard="other"), good_answers(total_emissions=1),
             good_answers(reports_scope_3=True, scope_3=0, scope_3_categories=[1, 2]),
             good_answers(reports_scope_3=True, scope_3=0.0, total_emissions=2000.5),
             good_answers(has_sites=True, sites=[{"site_name": "A", "site_country": "DE", "site_scope_1": 5}]),
             good_answers(has_sites=True, sites=[{"site_name": "B", "site_country": "DE", "site_scope_1": 5000,
                                                  "electricity_mwh": 1, "renewable_share": 120}]),
             good_answers(period_end="2024-01-01"), good_answers(period_end=None), good_answers(confirm="no"),
             good_answers(scope_1="x"), good_answers(verified=True), good_answers(verified="yes", verifier="V")]
    for answers in cases * 3:  # again and again: the later rounds are answered from memory
        for partial in (False, True):
            a = remembering.validate(answers, partial=partial)
            b = plain.validate(answers, partial=partial)
            assert (a.errors, a.cleaned) == (b.errors, b.cleaned), answers


def test_one_and_one_point_zero_and_true_are_different_answers_to_a_condition() -> None:
    v = compile_validator(parse_form_schema(NUMBER_FORM))

    def missing(**answers: Any) -> list[str]:
        return [e["field"] for e in v.validate(answers).errors]

    for _ in range(2):
        assert missing(amount="1") == ["why_one"]
        assert missing(amount="1.0") == []
        assert missing(amount=1) == ["why_one"]
        assert missing(amount="-0.0") == ["why_minus_zero"]
        assert missing(amount="0.0") == []
        assert missing(flag="1") == ["why_flag"]
        assert missing(flag=True, amount=1.0) == ["why_flag"]


def test_expressions_that_read_the_clock_or_all_the_answers_are_never_answered_from_memory() -> None:
    fields = {"a", "b", "when"}
    assert _deciding_names("a > 1 and b == 'x'", fields) == ("a", "b")
    assert _deciding_names("abs(a - sum([a, b])) <= 0.01 and b is none", fields) == ("a", "b")
    assert _deciding_names("a | length > 2", fields) == ("a",)
    for source in ("date(when) > date()", "when > today()", "now() > a", "answers.a > 1", "row.a > 1",
                   "a | random", "a | date", "unknown_name > 1", "a >"):
        assert _deciding_names(source, fields) is None, source


def test_today_as_a_bound_still_moves_with_the_clock_for_a_date_read_before() -> None:
    form = {"name": "dates", "version": 1, "fields": [
        {"id": "due", "type": "date", "label": "Due", "min": "today"},
        {"id": "done", "type": "date", "label": "Done", "max": "today"}]}
    v = compile_validator(parse_form_schema(form))
    today = datetime.now(UTC).date()
    past, future = (today - timedelta(days=3)).isoformat(), (today + timedelta(days=3)).isoformat()
    for _ in range(2):
        assert v.validate({"due": today.isoformat(), "done": today.isoformat()}).ok
        assert [e["message"] for e in v.validate({"due": past, "done": future}).errors] == [
            "Due cannot be in the past", "Done cannot be in the future"]
        assert [e["message"] for e in v.validate({"due": "2025-02-30"}).errors] == [
            "2025-02-30 is not a date in the calendar"]


def test_rows_are_checked_here_when_no_worker_can_be_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             small_chunks: None) -> None:
    import concurrent.futures

    class NoProcesses(concurrent.futures.ProcessPoolExecutor):
        def submit(self, *args: Any, **kwargs: Any) -> Any:
            raise BlockingIOError(11, "Resource temporarily unavailable")

    path = messy_file(tmp_path / "messy.csv", 40)
    here = outcomes(path, workers=0)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", NoProcesses)
    assert outcomes(path, workers=2) == here


def test_workers_are_used_only_with_several_cores_and_one_of_them_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(bulk.os, "getloadavg", lambda: (0.3, 0.3, 0.3))
    assert bulk._cores() == 2
    monkeypatch.setattr(bulk.os, "getloadavg", lambda: (1.5, 1.0, 1.0))
    assert bulk._cores() == 0
    monkeypatch.setattr(bulk.os, "sched_getaffinity", lambda pid: {0})
    monkeypatch.setattr(bulk.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert bulk._cores() == 0


async def test_workers_started_from_a_servers_thread_give_the_same_outcomes_and_are_gone_after(
        tmp_path: Path, small_chunks: None) -> None:
    import asyncio

    path = messy_file(tmp_path / "messy.csv", 30)
    here = outcomes(path, workers=0)
    # as the BulkImport node does: in a thread beside the server's event loop
    assert await asyncio.to_thread(outcomes, path, workers=2) == here
    assert multiprocessing.active_children() == []
