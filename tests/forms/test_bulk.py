"""Bulk import: the form's own template, CSV and Excel, column mapping, every row validated,
bad rows reported with line and reason while good rows go on."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from datacollect.engine.ports import Services
from datacollect.errors import InvalidInput
from datacollect.forms.bulk import csv_template, import_rows
from datacollect.forms.schema import parse_form_schema
from datacollect.integrations.blobs import FileBlobStore, iter_bytes
from datacollect.nodes.bulk_import import BulkImport
from tests.forms.helpers import example_form
from tests.nodes.conftest import make_ctx, make_node

SCHEMA = parse_form_schema(example_form())
ROW = {"company_name": "Acme", "country": "DE", "contact_name": "Jana", "contact_email": "jana@acme.example",
       "period_start": "2025-01-01", "period_end": "2025-03-31", "reporting_standard": "ghg_protocol",
       "scope_1": "1200.5", "scope_2_method": "market", "scope_2": "800", "reports_scope_3": "no",
       "total_emissions": "2000.5", "has_sites": "no", "signatory": "Jana", "confirm": "yes"}


def write_csv(path: Path, rows: list[dict[str, Any]], header: list[str] | None = None, delimiter: str = ",") -> Path:
    header = header or list(csv.reader(io.StringIO(csv_template(SCHEMA).decode("utf-8-sig"))))[0]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(h, "") for h in header])
    return path


def test_the_template_imports_as_it_is_and_bad_rows_come_back_with_line_and_reason(tmp_path: Path) -> None:
    rows = [ROW, {**ROW, "scope_1": "lots", "country": "XX"}, {**ROW, "company_name": ""},
            {**ROW, "reports_scope_3": "yes", "scope_3": "10", "scope_3_categories": "1; 4",
             "total_emissions": "2010.5"}]
    out = list(import_rows(SCHEMA, write_csv(tmp_path / "a.csv", rows)))
    assert [(o.line, o.ok) for o in out] == [(2, True), (3, False), (4, False), (5, True)]
    assert out[0].answers["scope_1"] == 1200.5 and out[0].answers["reports_scope_3"] is False
    assert {e["field"] for e in out[1].errors} == {"scope_1", "country"}
    assert out[2].errors == [{"field": "company_name", "message": "This field is required", "code": "required"}]
    assert out[3].answers["scope_3_categories"] == [1, 4]


def test_columns_match_by_label_or_mapping_and_unknown_ones_are_reported_once(tmp_path: Path) -> None:
    header = ["Legal company name", "Supplier country", "Contact person", "contact_email", "period_start",
              "period_end", "reporting_standard", "Scope 1 emissions", "scope_2_method", "scope_2",
              "reports_scope_3", "total_emissions", "has_sites", "signatory", "confirm", "internal_ref"]
    row = {**ROW, "Legal company name": "Acme", "Supplier country": "FR", "Contact person": "Jana",
           "Scope 1 emissions": "1200.5", "internal_ref": "X-1"}
    path = write_csv(tmp_path / "b.csv", [row, row], header, delimiter=";")
    out = list(import_rows(SCHEMA, path, mapping={"Supplier country": "country"}))
    assert out[0].line == 1 and not out[0].ok and out[0].errors[0]["code"] == "unknown_column"
    assert [o.ok for o in out[1:]] == [True, True]
    assert out[1].answers["country"] == "FR" and out[1].answers["company_name"] == "Acme"
    with pytest.raises(InvalidInput, match="not have"):
        list(import_rows(SCHEMA, path, mapping={"Supplier country": "nation"}))


def test_excel_files_are_read_with_their_own_types(tmp_path: Path) -> None:
    from datetime import datetime

    wb = Workbook()
    ws = wb.active
    header = list(ROW)
    ws.append(header)
    values = {**ROW, "period_start": datetime(2025, 1, 1), "period_end": datetime(2025, 3, 31), "scope_1": 1200.5,
              "scope_2": 800, "total_emissions": 2000.5, "confirm": True, "reports_scope_3": False,
              "has_sites": False}
    ws.append([values[h] for h in header])
    ws.append([values[h] if h != "scope_2" else -5 for h in header])
    wb.save(tmp_path / "c.xlsx")
    out = list(import_rows(SCHEMA, tmp_path / "c.xlsx"))
    assert out[0].ok, out[0].errors
    assert out[0].answers["period_start"] == "2025-01-01" and out[0].answers["scope_2"] == 800
    assert not out[1].ok and out[1].line == 3 and out[1].errors[0]["field"] == "scope_2"


class _Forms:
    def schema(self, form_id: str) -> Any:
        class Row:
            name, version, key = "supplier_emissions", "2", "supplier_emissions_v2"

        return Row(), SCHEMA


async def test_the_node_reads_the_file_from_the_blob_store(tmp_path: Path) -> None:
    blobs = FileBlobStore(tmp_path / "blobs")
    data = write_csv(tmp_path / "d.csv", [ROW, {**ROW, "scope_2": "-1"}, ROW]).read_bytes()
    await blobs.put("imports/q1.csv", iter_bytes(data), "text/csv")
    node = make_node(BulkImport, {"form_id": "supplier_emissions_v2", "file_source": "{{ trigger.file }}"})
    ctx = make_ctx(services=Services(blobs=blobs, forms=_Forms()),
                   trigger={"file": {"key": "imports/q1.csv", "name": "q1.csv"}})
    out = await node.run(ctx, [{}])
    assert [i["_line"] for i in out["main"]] == [2, 4]
    assert out["main"][0]["_form"]["key"] == "supplier_emissions_v2"
    [bad] = out["invalid"]
    assert bad["line"] == 3 and bad["errors"][0]["field"] == "scope_2" and bad["row"]["scope_2"] == "-1"
    from datacollect.errors import NodeError

    with pytest.raises(NodeError, match="could not be read"):
        await node.run(make_ctx(services=Services(blobs=blobs, forms=_Forms()),
                                trigger={"file": {"key": "imports/none.csv"}}), [{}])
