"""DatabaseWrite: insert, update or upsert items as rows of a table in an external database.

Each item becomes one row. By default the row is made of the item's fields that are columns of
the table (other fields are ignored); ``columns`` maps columns to item fields or templates
instead, and then a column the table does not have is an error.

Exactly once
    Delivery is at-least-once, so a retried activation must never write twice. Every row is
    written together with its key ``ctx.item_key(i)`` (``run_id/node_id/lane/index``) in the
    table ``datacollect_write_ledger`` of the target database, in the same transaction. A row
    whose key is already there is skipped and reported with status ``already_written``.

Ports and errors
    ``main``  the items written, each with ``_write: {"table", "operation", "status"}``, where
              status is ``inserted``, ``updated`` or ``already_written``.
    ``error`` the items that could not be written (a broken constraint, a value that does not
              fit its column, no row to update, a missing key value), each with
              ``error: {"message", "table", "operation"}``. The other items are written.
    A NodeError is raised only when nothing can be written: a bad connection URL, an
    unreachable server (``RetryableNodeError``), a missing table, a column named in the config
    that the table does not have, an upsert key without a unique index.

The blocking database work runs in a worker thread; engines and reflected tables are cached
per URL and table (see :mod:`datacollect.integrations.sqldb`), so an activation costs one
transaction and no reflection.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property, partial
from typing import Any, Literal

import anyio.to_thread
from pydantic import Field, model_validator

from datacollect.engine.expressions import check_template, compile_template, is_template
from datacollect.errors import ExpressionError
from datacollect.nodes.base import Item, Items, Node, NodeConfig, NodeContext, NodeError, Output

_sqldb: Any = None


def _integration() -> Any:
    """The SQL integration, imported on first use (the node layer imports no ORM)."""
    global _sqldb
    if _sqldb is None:
        from datacollect.integrations import sqldb

        _sqldb = sqldb
    return _sqldb


def _field_getter(path: str) -> Callable[[dict[str, Any]], Any]:
    parts = path.split(".")

    def get(scope: dict[str, Any]) -> Any:
        value: Any = scope["item"]
        for p in parts:
            if not isinstance(value, dict) or p not in value:
                return None
            value = value[p]
        return value

    return get


class DatabaseWrite(Node):
    type = "DatabaseWrite"
    category = "output"
    description = ("Insert, update or upsert items as rows of a database table (SQLite, "
                   "PostgreSQL, MySQL/MariaDB), exactly once even when the step is retried.")
    icon = "database"
    ports = ("main", "error")
    side_effects = True

    class Config(NodeConfig):
        connection: str = Field(
            min_length=1,
            description=("The database: a SQLAlchemy URL such as postgresql://user:password@host/db, "
                         "mysql+pymysql://user:password@host/db or sqlite:////path/to/file.db, "
                         "or the name of a stored connection. May be a template "
                         "({{ vars.database_url }})."),
            json_schema_extra={"format": "connection", "connection_kind": "database"},
        )
        table: str = Field(min_length=1, description="The table to write to (schema.table allowed).")
        operation: Literal["insert", "update", "upsert"] = Field(
            "insert",
            description=("insert adds rows; update changes the rows found by key_columns; upsert "
                         "updates the row with the same key or inserts it."),
        )
        key_columns: list[str] = Field(
            default_factory=list,
            description=("The columns that identify a row (for update and upsert), e.g. "
                         "[\"supplier_id\", \"quarter\"]. Upsert needs a primary key or a unique "
                         "index on them."),
        )
        columns: dict[str, Any] | None = Field(
            None,
            description=("Which value goes into which column: {column: source}. A source is an "
                         "item field name (\"supplier.id\" reaches into objects), a template "
                         "(\"{{ item.co2 * 1000 }}\"), or a fixed number/true/false/null. Leave "
                         "empty to write the item's fields that are columns of the table."),
        )
        create_table: bool = Field(
            False,
            description=("Create the table when it does not exist, with column types taken from "
                         "the first items (key_columns become the primary key)."),
        )
        batch_size: int = Field(
            500, ge=1, le=10_000,
            description="Rows sent per statement. All rows of one step are committed together.",
        )

        @model_validator(mode="after")
        def _check_keys(self) -> DatabaseWrite.Config:
            if self.operation in ("update", "upsert") and not self.key_columns:
                raise ValueError(
                    f"key_columns is required for {self.operation}: name the column(s) that "
                    "identify a row, for example [\"supplier_id\"]")
            if self.columns is not None:
                if not self.columns:
                    raise ValueError("columns is empty: map at least one column, or leave it out "
                                     "to write the item's fields")
                missing = [k for k in self.key_columns if k not in self.columns]
                if missing:
                    raise ValueError(f"key column {', '.join(missing)} is not in columns: add it "
                                     "to columns so that each row has a key")
            return self

    def check(self) -> list[str]:
        cfg = self.config
        assert isinstance(cfg, DatabaseWrite.Config)
        problems = [f"columns.{path}: {reason}" for path, reason in check_template(cfg.columns or {})]
        problems += [f"connection: {reason}" for _, reason in check_template(cfg.connection)]
        if "://" in cfg.connection and not is_template(cfg.connection):
            problem = _integration().url_problem(cfg.connection)
            if problem:
                problems.append(f"connection: {problem}")
        return problems

    @cached_property
    def _mapping(self) -> list[tuple[str, Callable[[dict[str, Any]], Any]]] | None:
        """Compiled ``columns``: one function per column from the item scope to the value."""
        columns = self.config.columns  # type: ignore[attr-defined]
        if columns is None:
            return None
        out: list[tuple[str, Callable[[dict[str, Any]], Any]]] = []
        for col, source in columns.items():
            if isinstance(source, str) and not is_template(source):
                out.append((col, _field_getter(source)))
            else:
                out.append((col, compile_template(source)))
        return out

    def _url(self, ctx: NodeContext) -> str:
        raw = self.config.connection.strip()  # type: ignore[attr-defined]
        if is_template(raw):
            raw = str(ctx.render(raw)).strip()
        if "://" in raw:
            return raw
        connections = ctx.services.extra.get("connections")
        url = None
        if callable(connections):
            url = connections(raw)
        elif isinstance(connections, dict):
            url = connections.get(raw)
        if not url:
            raise NodeError(f"No stored connection named {raw!r}. Choose a saved connection, or "
                            "write a database URL such as postgresql://user@host/db.")
        return str(url)

    async def run(self, ctx: NodeContext, items: Items) -> Output:
        cfg = self.config
        assert isinstance(cfg, DatabaseWrite.Config)
        if not items:
            return {"main": []}
        url = self._url(ctx)
        mapping = self._mapping
        rows: list[tuple[str, dict[str, Any]]] = []
        positions: list[int] = []
        errors: dict[int, str] = {}
        for i, item in enumerate(items):
            if mapping is None:
                values = item
            else:
                scope = ctx.with_item(item)
                try:
                    values = {col: fn(scope) for col, fn in mapping}
                except ExpressionError as e:
                    errors[i] = f"Cannot compute the row: {e.message}"
                    continue
            rows.append((ctx.item_key(i), values))
            positions.append(i)

        sqldb = _integration()
        results = await anyio.to_thread.run_sync(partial(
            sqldb.write_rows, url, cfg.table, cfg.operation, rows, key_columns=cfg.key_columns,
            batch_size=cfg.batch_size, create_table=cfg.create_table,
            strict_columns=mapping is not None,
        )) if rows else []

        by_index = dict(zip(positions, results, strict=True))
        main: list[Item] = []
        error: list[Item] = []
        for i, item in enumerate(items):
            res = by_index.get(i)
            if res is None or res.status == "failed":
                message = errors.get(i) or (res.error if res else None) or "not written"
                error.append({**item, "error": {"message": message, "table": cfg.table,
                                                "operation": cfg.operation}})
            else:
                main.append({**item, "_write": {"table": cfg.table, "operation": cfg.operation,
                                                "status": res.status}})
        if error:
            ctx.log(f"{len(error)} of {len(items)} item(s) could not be written to {cfg.table!r}; "
                    "they went out of the error port")
        out: Output = {"main": main}
        if error:
            out["error"] = error
        return out
