"""Bulk import: CSV and Excel files checked row by row with a form's own validation engine.

::

    for outcome in import_rows(schema, "answers.csv", mapping={"Supplier": "company_name"}):
        outcome.line, outcome.ok, outcome.answers / outcome.errors

* The **template** of a form (``csv_template``, ``xlsx_template``) has one column per top-level
  field that takes an answer (tables and files cannot be written in a flat row); the Excel
  template adds a sheet that explains each column (label, type, required, options, unit).
* **Columns** are matched to fields by ``mapping`` (column header -> field id), else by the
  field's id or label (case and spacing ignored); other columns are reported once as
  ``unknown_column`` on the first row, not on every row.
* **Values**: cells are read as text (CSV) or as Excel's values; empty cells are empty answers;
  a multi-select takes ``a;b`` (or ``a, b``); dates from Excel become ``YYYY-MM-DD``.
* Every row is validated by the form's compiled validator (``compile_validator``, the one that
  checks submissions); a bad row comes back with its line (the header is line 1) and every
  reason, and the good rows go on.
* **Streaming**: rows are read one at a time from a file on disk (a blob is first copied to a
  temporary file in chunks), so memory stays bounded whatever the file's size.
* **Workers**: a large CSV file (``PARALLEL_MIN_BYTES``) is checked, when a core is idle, by
  worker processes, one per core (fresh interpreters that each compile the same validator from
  the form), while this process reads the file and hands them chunks of rows; a few chunks per
  worker are in flight at a time, and the outcomes come back in file order, the same as when
  every row is checked here.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import re
import signal
import tempfile
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from datacollect.errors import InvalidInput
from datacollect.forms.schema import (
    FileField,
    FormSchema,
    MultiSelectField,
    SelectField,
    TableField,
    _ValueField,
)
from datacollect.forms.validation import compile_validator

_SPLIT = re.compile(r"\s*[;|]\s*|\s*,\s*")


def template_fields(schema: FormSchema) -> list[_ValueField]:
    return [f for _, f in schema.iter_fields()
            if f.has_value and not isinstance(f, (TableField, FileField))]  # type: ignore[misc]


def csv_template(schema: FormSchema) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerow([f.id for f in template_fields(schema)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8


def xlsx_template(schema: FormSchema) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Answers"
    fields = template_fields(schema)
    ws.append([f.id for f in fields])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for i, f in enumerate(fields, start=1):
        ws.column_dimensions[cell_letter(i)].width = max(12, min(40, len(f.id) + 4))
    info = wb.create_sheet("Fields")
    info.append(["column", "label", "type", "required", "unit", "options", "help"])
    for cell in info[1]:
        cell.font = Font(bold=True)
    for f in fields:
        options = ""
        if isinstance(f, (SelectField, MultiSelectField)):
            options = "; ".join(f"{o.value}" + (f" ({o.label})" if o.label else "") for o in f.options)
            if isinstance(f, MultiSelectField):
                options += "  — several values separated by ';'"
        info.append([f.id, f.title, f.type, "yes" if f.required else "", getattr(f, "unit", None) or "",
                     options, f.help or ""])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def cell_letter(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


async def spool(chunks: AsyncIterator[bytes], suffix: str = "") -> Path:
    """Copy a stream to a temporary file (the caller removes it)."""
    fd, name = tempfile.mkstemp(prefix="datacollect-import-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            async for chunk in chunks:
                f.write(chunk)
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


def detect_format(name: str, head: bytes = b"") -> str:
    ext = os.path.splitext(name)[1].lower()
    if ext in (".xlsx", ".xlsm") or head[:4] == b"PK\x03\x04":
        return "xlsx"
    return "csv"


def read_csv(path: Path, delimiter: str | None = None, encoding: str = "utf-8-sig") -> Iterator[tuple[int, list[Any]]]:
    """(line, cells) of each row; the header is line 1. Line numbers count physical lines, so
    a quoted value with a line break in it does not shift the lines that follow."""
    with open(path, newline="", encoding=encoding, errors="replace") as f:
        if delimiter is None:
            sample = f.read(64 * 1024)
            f.seek(0)
            try:
                delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
            except csv.Error:
                delimiter = ","
        reader = csv.reader(f, delimiter=delimiter)
        start = 1
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1


def read_xlsx(path: Path, sheet: str | None = None) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        if sheet and sheet not in wb.sheetnames:
            raise InvalidInput(f"The workbook has no sheet '{sheet}' (sheets: {', '.join(wb.sheetnames)})")
        ws = wb[sheet] if sheet else wb.worksheets[0]
        for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
            yield i, [_excel_value(v) for v in row]
    finally:
        wb.close()


def _excel_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.date().isoformat() if (v.hour, v.minute, v.second) == (0, 0, 0) else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


@dataclass(slots=True)
class Outcome:
    line: int
    ok: bool
    answers: dict[str, Any]
    errors: list[dict[str, Any]]
    row: dict[str, Any]


def _norm(text: Any) -> str:
    return re.sub(r"[\s_\-]+", " ", str(text or "")).strip().lower()


class RowReader:
    """Turns rows of cells into answers for one form, by column mapping."""

    def __init__(self, schema: FormSchema, header: list[Any], mapping: dict[str, str] | None = None) -> None:
        fields = {f.id: f for _, f in schema.iter_fields() if f.has_value}
        by_name: dict[str, str] = {}
        for f in fields.values():
            by_name.setdefault(_norm(f.id), f.id)
            if f.label:
                by_name.setdefault(_norm(f.label), f.id)
        mapping = dict(mapping or {})
        bad_targets = [t for t in mapping.values() if t not in fields]
        if bad_targets:
            raise InvalidInput(f"The mapping names fields the form does not have: {', '.join(bad_targets)}")
        norm_map = {_norm(k): v for k, v in mapping.items()}
        self.columns: list[tuple[int, str, str]] = []  # (index, header, field id)
        self.unknown: list[str] = []
        for i, h in enumerate(header):
            if h is None or str(h).strip() == "":
                continue
            target = mapping.get(str(h)) or norm_map.get(_norm(h)) or by_name.get(_norm(h))
            if target is None:
                self.unknown.append(str(h))
            else:
                self.columns.append((i, str(h), target))
        if not self.columns:
            raise InvalidInput("No column of the file matches a field of the form; check the header row or give "
                               "a column mapping")
        self.multi = {fid for fid, f in fields.items() if isinstance(f, MultiSelectField)}
        self._plan = [(i, h, fid, fid in self.multi) for i, h, fid in self.columns]
        self.validator = compile_validator(schema)

    def answers(self, cells: list[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        answers: dict[str, Any] = {}
        row: dict[str, Any] = {}
        n = len(cells)
        for i, h, fid, multi in self._plan:
            v = cells[i] if i < n else None
            row[h] = v
            if isinstance(v, str):
                v = v.strip()
                if not v:
                    continue
                if multi:
                    v = [p for p in _SPLIT.split(v) if p]
            elif v is None:
                continue
            answers[fid] = v
        return answers, row

    def check(self, line: int, cells: list[Any]) -> Outcome:
        answers, row = self.answers(cells)
        result = self.validator.validate(answers)
        return Outcome(line, result.ok, result.cleaned, result.errors, row)


#: a CSV file at least this large is checked by worker processes, one per core (below it, the
#: workers would take longer to start than the rows to check)
PARALLEL_MIN_BYTES = 8 * 2**20
#: rows handed to a worker at a time, and chunks in flight per worker: what bounds the memory
CHUNK_ROWS = 1000
CHUNKS_PER_WORKER = 2


def import_rows(schema: FormSchema, path: Path | str, *, fmt: str | None = None,
                mapping: dict[str, str] | None = None, sheet: str | None = None,
                delimiter: str | None = None, workers: int | None = None) -> Iterator[Outcome]:
    """Every data row of a CSV or Excel file, validated; bad rows carry line and reasons.

    ``workers``: processes that check the rows while this one reads the file (the outcomes
    come back in file order, and are the same as without them); ``None`` uses one per core
    for a CSV file of at least ``PARALLEL_MIN_BYTES`` when a core is idle, ``0`` checks every
    row here."""
    path = Path(path)
    if fmt is None:
        with open(path, "rb") as f:
            fmt = detect_format(path.name, f.read(4))
    rows = read_xlsx(path, sheet) if fmt == "xlsx" else read_csv(path, delimiter)
    reader: RowReader | None = None
    header: list[Any] = []
    for line, cells in rows:
        header = cells
        reader = RowReader(schema, cells, mapping)
        if reader.unknown:
            yield Outcome(line, False, {}, [{"field": c, "code": "unknown_column",
                                             "message": f"The column '{c}' matches no field of the form and "
                                                        "was ignored"} for c in reader.unknown], {})
        break
    if reader is None:
        raise InvalidInput("The file is empty: it needs a header row with the field names")
    if workers is None:
        workers = _cores() if fmt == "csv" and path.stat().st_size >= PARALLEL_MIN_BYTES else 0
    if workers > 0 and not multiprocessing.current_process().daemon:  # a pool's worker may not have children
        yield from _check_in_workers(schema, header, mapping, rows, workers)
        return
    yield from _check_here(reader, rows)


def _cores() -> int:
    """Workers for a large file: one per core, when at least one core is idle (by the load
    average). On a busy machine workers do not help: passing the rows to them and the outcomes
    back costs more CPU than they save, so the rows are checked here."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        n = os.cpu_count() or 1
    try:
        idle = n - os.getloadavg()[0]
    except OSError:
        idle = n
    return n if n > 1 and idle >= 1 else 0


Row = tuple[int, bool, dict[str, Any], list[dict[str, Any]], dict[str, Any]]
_worker_reader: RowReader | None = None


def _start_worker(schema: FormSchema, header: list[Any], mapping: dict[str, str] | None) -> None:
    """In a worker (a fresh interpreter): the same reader and validator, compiled from the form."""
    global _worker_reader
    _worker_reader = RowReader(schema, header, mapping)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the reading process's: it stops the workers


def _check_chunk(chunk: list[tuple[int, list[Any]]]) -> list[Row]:
    """In a worker: the outcomes of a chunk of rows, blank lines left out."""
    reader = _worker_reader
    assert reader is not None
    return [(o.line, o.ok, o.answers, o.errors, o.row) for o in _check_here(reader, chunk)]


def _check_in_workers(schema: FormSchema, header: list[Any], mapping: dict[str, str] | None,
                      rows: Iterator[tuple[int, list[Any]]], workers: int) -> Iterator[Outcome]:
    """This process reads the rows and hands them in chunks to worker processes that compile the
    form's validator once; at most ``CHUNKS_PER_WORKER`` chunks per worker are in flight, so
    memory stays bounded however long the file is, and outcomes come back in file order.

    The workers are fresh interpreters (``spawn``), not forks: this runs in a thread of a server
    whose other threads may hold locks at the moment of a fork, which a forked child would
    inherit held. Starting one costs about half a second, small beside the files sent here."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(schema, header, mapping))
    try:
        pool.submit(int).result()  # the first worker starts now, or cannot
    except (OSError, BrokenProcessPool):  # no worker could start (out of processes or memory): checked here
        pool.shutdown(wait=False, cancel_futures=True)
        yield from _check_here(RowReader(schema, header, mapping), rows)
        return
    pending: deque[Any] = deque()
    try:
        chunk: list[tuple[int, list[Any]]] = []
        for item in rows:
            chunk.append(item)
            if len(chunk) >= CHUNK_ROWS:
                pending.append(pool.submit(_check_chunk, chunk))
                chunk = []
                if len(pending) >= workers * CHUNKS_PER_WORKER:
                    for r in pending.popleft().result():
                        yield Outcome(*r)
        if chunk:
            pending.append(pool.submit(_check_chunk, chunk))
        while pending:
            for r in pending.popleft().result():
                yield Outcome(*r)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _check_here(reader: RowReader, rows: Iterable[tuple[int, list[Any]]]) -> Iterator[Outcome]:
    for line, cells in rows:
        if not any(c not in (None, "") for c in cells):
            continue  # a blank line
        yield reader.check(line, cells)
