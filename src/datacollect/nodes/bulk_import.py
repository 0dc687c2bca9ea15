"""BulkImport: read a CSV or Excel file from the blob store and check every row with a form.

``file`` is the blob: a key, or a template giving a file reference (``{{ trigger.file }}``, an
uploaded file's ``{"key", "name", ...}``). Rows are matched to the form's fields by header
(the form's template, from ``GET /api/forms/{id}/template.csv``, matches as it is) or by
``mapping`` (column -> field). Every row is validated with the form's own engine: good rows go
out of ``main`` (the cleaned answers, with ``_line`` and ``_form``), bad rows out of
``invalid`` as ``{"line", "errors": [{"field", "message"}], "row"}`` - the good rows are never
held back by the bad ones. The file is streamed from the blob store to a temporary file and
read row by row; a large CSV file is checked by worker processes, one per core
(``forms.bulk.import_rows``), with the same outcomes in the same order.
"""

from __future__ import annotations

import asyncio
import os
from typing import Literal

from pydantic import AliasChoices, Field

from datacollect.errors import DatacollectError
from datacollect.nodes.base import Items, Node, NodeConfig, NodeContext, NodeError, Output, Template


class BulkImport(Node):
    type = "BulkImport"
    category = "collection"
    description = "Import answers from a CSV or Excel file; every row is checked with the form."
    icon = "file-spreadsheet"
    ports = ("main", "invalid")

    class Config(NodeConfig):
        form_id: str = Field(min_length=1, description="The form whose fields and rules each row must meet.",
                             json_schema_extra={"format": "form"})
        file: Template = Field(validation_alias=AliasChoices("file", "file_source"), description="The file: a blob key, or a file reference "
                                                                "({{ trigger.file }}).")
        format: Literal["auto", "csv", "xlsx"] = "auto"
        mapping: dict[str, str] | None = Field(
            None, validation_alias=AliasChoices("mapping", "mapping_rules"), description="Column header -> field id, for headers that are not the "
                                                     "field ids or labels.")
        sheet: str | None = Field(None, description="Excel: the sheet to read (default: the first).")
        delimiter: str | None = Field(None, max_length=1, description="CSV: the separator (default: detected).")
        validation: bool = Field(True, description="Kept for definitions that set it; rows are always checked.",
                                 json_schema_extra={"x-group": "advanced"})
        max_rows: int = Field(1_000_000, ge=1, description="Refuse files with more data rows than this.")

    async def run(self, ctx: NodeContext, items: Items) -> Output:
        from datacollect.forms import bulk

        cfg = self.config
        blobs = ctx.services.blobs
        forms = ctx.services.forms
        if blobs is None or forms is None:
            raise NodeError("BulkImport needs the blob store and the forms service")
        ref = ctx.render(cfg.file, items[0] if items else None)
        key = ref.get("key") if isinstance(ref, dict) else ref
        name = ref.get("name", key) if isinstance(ref, dict) else key
        if not isinstance(key, str) or not key:
            raise NodeError(f"'file' gave {ref!r}, which names no file")
        row, schema = forms.schema(cfg.form_id)
        path = None
        try:
            try:
                path = await bulk.spool(blobs.open(key), suffix=os.path.splitext(name)[1])
            except DatacollectError as exc:
                raise NodeError(f"The file '{name}' could not be read: {exc.message}") from exc
            fmt = None if cfg.format == "auto" else cfg.format
            info = {"name": row.name, "version": row.version, "key": row.key,
                    "required": [f.id for _, f in schema.iter_fields() if getattr(f, "required", False)]}

            def work() -> tuple[Items, Items]:
                good: Items = []
                bad: Items = []
                n = 0
                for o in bulk.import_rows(schema, path, fmt=fmt, mapping=cfg.mapping, sheet=cfg.sheet,
                                          delimiter=cfg.delimiter):
                    n += 1
                    if n > cfg.max_rows + 1:
                        raise NodeError(f"The file has more than {cfg.max_rows} rows")
                    if o.ok:
                        good.append({**o.answers, "_line": o.line, "_form": info})
                    else:
                        bad.append({"line": o.line, "errors": o.errors, "row": o.row})
                return good, bad

            try:
                good, bad = await asyncio.to_thread(work)
            except DatacollectError as exc:
                raise NodeError(exc.message) from exc
        finally:
            if path is not None:
                path.unlink(missing_ok=True)
        ctx.log(f"{len(good)} rows imported, {len(bad)} refused")
        return {"main": good, "invalid": bad}


