"""External databases for DatabaseWrite: engines per URL, tables reflected once, and a write
ledger that makes a retried write a no-op.

Delivery of an activation is at-least-once, so the same rows may be handed to
:func:`write_rows` twice. Exactly-once is obtained in the target database itself: every row
written also inserts its idempotency key (``run_id/node_id/lane/index``) into
``datacollect_write_ledger`` **in the same transaction**. A key already in the ledger means the
row was committed before, and it is skipped (status ``already_written``).

Hot path (one activation, no retry, no bad row)::

    BEGIN (IMMEDIATE on SQLite); INSERT ledger keys; INSERT/UPDATE/UPSERT rows; COMMIT

with executemany per ``batch_size`` rows. Only when a statement fails on a constraint or on
bad data, or a ledger key already exists, is the transaction rolled back and done again the
careful way: ledger keys read first, each chunk in a savepoint, and row by row inside a chunk
that fails, so that good rows are written and each bad row is reported with its reason.

Engines are made once per URL (a pool for PostgreSQL and MySQL; WAL, ``busy_timeout`` and one
writer at a time for SQLite), and a table is reflected once per (URL, table). A write that fails
because the table changed under us drops the cached table, so the next activation reflects
it again.

Errors are :class:`~datacollect.errors.NodeError` (or ``RetryableNodeError`` when the database
cannot be reached) with a message that says what to fix; URLs in messages never show a
password.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from datacollect.errors import NodeError, RetryableNodeError

LEDGER_TABLE = "datacollect_write_ledger"
OPERATIONS = ("insert", "update", "upsert")

#: URL schemes written by people, and the driver we use for them.
_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}
_MAX_ENGINES = 64

_lock = threading.RLock()
_engines: dict[str, _Target] = {}
_tables: dict[tuple[str, str], TablePlan] = {}


# --------------------------------------------------------------------------------- URLs
def normalize_url(raw: str) -> URL:
    """Parse a connection URL, choosing our driver when the URL names none
    (``postgresql://`` → psycopg, ``mysql://`` → PyMySQL). Raises NodeError if it is no URL."""
    try:
        url = make_url(raw.strip())
    except (exc.ArgumentError, ValueError) as e:
        raise NodeError(
            "The connection is not a database URL. Write it as "
            "dialect://user:password@host:port/database, for example "
            "postgresql://app@db.example.com/erp or sqlite:////var/data/figures.db"
        ) from e
    driver = _DRIVERS.get(url.drivername)
    if driver:
        url = url.set(drivername=driver)
    return url


def mask_url(raw: str | URL) -> str:
    """The URL as it may be shown to a user or written to a log: the password hidden."""
    try:
        url = raw if isinstance(raw, URL) else make_url(str(raw).strip())
        return url.render_as_string(hide_password=True)
    except Exception:  # not a URL: show nothing that might be a secret
        return "<connection>"


def url_problem(raw: str) -> str | None:
    """A plain message if ``raw`` cannot be used as a connection URL (for save-time checks)."""
    try:
        url = normalize_url(raw)
    except NodeError as e:
        return e.message
    try:
        url.get_dialect()
    except Exception:
        return (f"No database driver for {url.drivername!r}. Use sqlite://, postgresql:// or "
                "mysql+pymysql://, or install the driver for this database.")
    return None


# ------------------------------------------------------------------------------ engines
@dataclass
class _Target:
    """An engine and what we learned about its database."""

    engine: Engine
    masked: str
    password: str | None
    dialect: str
    #: SQLite allows one writer: writers of this process queue on this lock instead of
    #: sleeping in SQLite's busy handler.
    write_lock: threading.Lock | None = None
    ledger_ready: bool = False


def _make_target(url: URL) -> _Target:
    backend = url.get_backend_name()
    kwargs: dict[str, Any] = {}
    lock = None
    memory = False
    if backend == "sqlite":
        memory = url.database in (None, "", ":memory:") or "mode=memory" in str(url)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if memory:  # one shared connection, else every thread would see its own database
            kwargs["poolclass"] = StaticPool
        lock = threading.Lock()
    else:
        kwargs.update(pool_size=5, max_overflow=10, pool_pre_ping=True, pool_recycle=1800)
        if url.get_driver_name() in ("psycopg", "psycopg2", "pymysql"):
            kwargs["connect_args"] = {"connect_timeout": 10}
    try:
        engine = sa.create_engine(url, **kwargs)
    except Exception as e:  # no driver, bad option
        raise NodeError(f"Cannot open a connection to {mask_url(url)}: {_reason(e)}") from e
    if backend == "sqlite":
        _sqlite_setup(engine, memory=memory)
    return _Target(engine=engine, masked=mask_url(url), password=url.password, dialect=backend,
                   write_lock=lock)


def _sqlite_setup(engine: Engine, memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, begin transactions (so SAVEPOINT works), and take the
        # write lock at BEGIN so a transaction never has to upgrade a read lock.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def target_for(raw_url: str) -> _Target:
    """The cached engine for a URL, made on first use."""
    target = _engines.get(raw_url)
    if target is not None:
        return target
    with _lock:
        target = _engines.get(raw_url)
        if target is None:
            target = _make_target(normalize_url(raw_url))
            if len(_engines) >= _MAX_ENGINES:  # drop the oldest engine
                old_key = next(iter(_engines))
                _forget(old_key)
            _engines[raw_url] = target
    return target


def engine_for(raw_url: str) -> Engine:
    return target_for(raw_url).engine


def _forget(raw_url: str) -> None:
    target = _engines.pop(raw_url, None)
    for key in [k for k in _tables if k[0] == raw_url]:
        del _tables[key]
    if target is not None:
        target.engine.dispose()


def dispose_all() -> None:
    """Close every cached engine (on shutdown, and between tests)."""
    with _lock:
        for key in list(_engines):
            _forget(key)
        _tables.clear()


# ------------------------------------------------------------------------------- tables
def _ledger_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        LEDGER_TABLE, metadata,
        sa.Column("idempotency_key", sa.String(255), primary_key=True),
        sa.Column("table_name", sa.String(255), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
    )


_LEDGER = _ledger_table(sa.MetaData())


Coercer = Callable[[Any], Any]


@dataclass
class TablePlan:
    """A reflected table and what writing to it needs, computed once."""

    table: sa.Table
    name: str
    columns: frozenset[str]
    coercers: dict[str, Coercer]
    unique_sets: list[frozenset[str]]
    statements: dict[Any, Any] = field(default_factory=dict)


class RowError(Exception):
    """A value that cannot go into its column; the row is reported, the others written."""


def _split_name(table: str) -> tuple[str | None, str]:
    schema, _, name = table.strip().rpartition(".")
    return (schema or None), name


def table_plan(target: _Target, raw_url: str, table: str, conn: Connection,
               create_from: Sequence[dict[str, Any]] | None = None,
               key_columns: Sequence[str] = ()) -> TablePlan:
    """The cached plan of ``table``; reflects it (creating it from ``create_from`` rows when it
    is missing and that is allowed) on first use."""
    key = (raw_url, table)
    plan = _tables.get(key)
    if plan is not None:
        return plan
    schema, name = _split_name(table)
    inspector = sa.inspect(conn)
    if not inspector.has_table(name, schema=schema):
        if create_from is None:
            raise NodeError(
                f"Table {table!r} does not exist in {target.masked}. Create it, correct the "
                "table name, or turn on create_table to create it from the first items."
            )
        _create_table(conn, name, schema, create_from, key_columns)
        conn.commit()
        inspector = sa.inspect(conn)
    reflected = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=conn)
    unique_sets = [frozenset(c.name for c in reflected.primary_key.columns)]
    for uc in inspector.get_unique_constraints(name, schema=schema):
        unique_sets.append(frozenset(uc["column_names"]))
    for ix in inspector.get_indexes(name, schema=schema):
        if ix.get("unique"):
            unique_sets.append(frozenset(c for c in ix["column_names"] if c))
    plan = TablePlan(
        table=reflected, name=table, columns=frozenset(c.name for c in reflected.columns),
        coercers={c.name: f for c in reflected.columns if (f := _coercer_for(c)) is not None},
        unique_sets=[s for s in unique_sets if s],
    )
    conn.commit()  # end the reflection's read transaction before the write one
    with _lock:
        _tables[key] = plan
    return plan


def _column_type(values: Iterable[Any], is_key: bool) -> sa.types.TypeEngine[Any]:
    for v in values:
        if v is None:
            continue
        if isinstance(v, bool):
            return sa.Boolean()
        if isinstance(v, int):
            return sa.BigInteger()
        if isinstance(v, float | Decimal):
            return sa.Double()
        if isinstance(v, dict | list):
            return sa.JSON()
        break
    return sa.String(255) if is_key else sa.Text()


def _create_table(conn: Connection, name: str, schema: str | None,
                  rows: Sequence[dict[str, Any]], key_columns: Sequence[str]) -> None:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    if not names:
        raise NodeError(f"Cannot create table {name!r}: the items have no fields.")
    cols = [
        sa.Column(col, _column_type((r.get(col) for r in rows), col in key_columns),
                  primary_key=col in key_columns)
        for col in names
    ]
    try:
        sa.Table(name, sa.MetaData(), *cols, schema=schema).create(conn, checkfirst=True)
        conn.commit()
    except exc.DBAPIError as e:  # another writer created it first
        conn.rollback()
        if not sa.inspect(conn).has_table(name, schema=schema):
            raise NodeError(f"Cannot create table {name!r}: {_reason(e)}") from e


def _ensure_ledger(target: _Target, conn: Connection) -> None:
    if target.ledger_ready:
        return
    try:
        _LEDGER.create(conn, checkfirst=True)
        conn.commit()
    except exc.DBAPIError as e:  # created by another writer at the same moment
        conn.rollback()
        if not sa.inspect(conn).has_table(LEDGER_TABLE):
            raise NodeError(
                f"Cannot create the write ledger table {LEDGER_TABLE!r} in {target.masked}: "
                f"{_reason(e)}. The connection's user needs the right to create tables, or an "
                "administrator can create it once."
            ) from e
        conn.commit()
    target.ledger_ready = True


# ---------------------------------------------------------------------------- coercion
_TRUE = {"true", "yes", "y", "1", "on", "t"}
_FALSE = {"false", "no", "n", "0", "off", "f"}


def _to_json_text(v: Any) -> Any:
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False, default=str)
    return v


def _to_text(v: Any) -> Any:
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False, default=str)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float | Decimal):
        return str(v)
    return v


def _blank_to_none(fn: Coercer) -> Coercer:
    def coerce(v: Any) -> Any:
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        return fn(v)

    return coerce


def _to_int(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str):
        try:
            return int(v.strip())
        except ValueError:
            pass
        try:
            d = Decimal(v.strip())
            if d == d.to_integral_value():
                return int(d)
        except InvalidOperation:
            pass
    raise RowError(f"{v!r} is not a whole number")


def _to_number(v: Any) -> Any:
    if isinstance(v, int | float | Decimal) and not isinstance(v, bool):
        return v
    if isinstance(v, str):
        try:
            return Decimal(v.strip())
        except InvalidOperation:
            pass
    raise RowError(f"{v!r} is not a number")


def _to_float(v: Any) -> Any:
    if isinstance(v, float | int) and not isinstance(v, bool):
        return v
    if isinstance(v, Decimal | str):
        try:
            return float(v)
        except ValueError:
            pass
    raise RowError(f"{v!r} is not a number")


def _to_bool(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str):
        s = v.strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
    raise RowError(f"{v!r} is not true or false")


def _to_date(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if isinstance(v, str):
        try:
            return date.fromisoformat(v.strip()[:10])
        except ValueError:
            pass
    raise RowError(f"{v!r} is not a date (YYYY-MM-DD)")


def _to_datetime(v: Any) -> Any:
    if isinstance(v, datetime):
        return v
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day)
    if isinstance(v, str):
        try:
            return datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
    raise RowError(f"{v!r} is not a date and time (ISO 8601)")


def _to_time(v: Any) -> Any:
    if isinstance(v, time):
        return v
    if isinstance(v, str):
        try:
            return time.fromisoformat(v.strip())
        except ValueError:
            pass
    raise RowError(f"{v!r} is not a time (HH:MM:SS)")


def _coercer_for(column: sa.Column[Any]) -> Coercer | None:
    """How an item's JSON value becomes a value of this column (None: as it is)."""
    t = column.type
    if isinstance(t, sa.JSON):
        return None
    if isinstance(t, sa.Boolean):
        return _blank_to_none(_to_bool)
    if isinstance(t, sa.Integer):
        return _blank_to_none(_to_int)
    if isinstance(t, sa.Float):
        return _blank_to_none(_to_float)
    if isinstance(t, sa.Numeric):
        return _blank_to_none(_to_number)
    if isinstance(t, sa.DateTime):
        return _blank_to_none(_to_datetime)
    if isinstance(t, sa.Date):
        return _blank_to_none(_to_date)
    if isinstance(t, sa.Time):
        return _blank_to_none(_to_time)
    if isinstance(t, sa.String):  # Text, Enum and the dialects' string types
        return _to_text
    if isinstance(t, sa.ARRAY):
        return None
    return _to_json_text


# ------------------------------------------------------------------------------ writing
@dataclass
class RowResult:
    """What became of one row: ``status`` is inserted, updated, already_written or failed."""

    status: str
    error: str | None = None


@dataclass
class _Row:
    index: int
    key: str
    values: dict[str, Any]


class _LedgerConflict(Exception):
    """A ledger key exists: at least one row of the statement was written before."""


_PER_ROW_ERRORS = (exc.IntegrityError, exc.DataError, RowError)


def _is_row_error(e: BaseException) -> bool:
    """A failure caused by the data of some row (the others may still go in)."""
    if isinstance(e, _PER_ROW_ERRORS):
        return True
    return isinstance(e, exc.StatementError) and not isinstance(e, exc.DBAPIError)


def write_rows(raw_url: str, table: str, operation: str, rows: Sequence[tuple[str, dict[str, Any]]],
               *, key_columns: Sequence[str] = (), batch_size: int = 500,
               create_table: bool = False, strict_columns: bool = False) -> list[RowResult]:
    """Write ``rows`` (idempotency key, values) to ``table`` in one transaction and answer one
    result per row, in order. Blocking: call it from a worker thread.

    ``strict_columns``: every value's name must be a column (the user named them); otherwise
    names that are not columns are ignored (whole items written as rows).
    """
    if operation not in OPERATIONS:
        raise NodeError(f"Unknown operation {operation!r}: use insert, update or upsert.")
    if operation != "insert" and not key_columns:
        raise NodeError(f"The {operation} operation needs key_columns: the columns that identify a row.")
    target = target_for(raw_url)
    try:
        if target.write_lock is not None:
            with target.write_lock:
                return _write(target, raw_url, table, operation, rows, key_columns, batch_size,
                              create_table, strict_columns)
        return _write(target, raw_url, table, operation, rows, key_columns, batch_size,
                      create_table, strict_columns)
    except NodeError as e:
        raise _scrubbed(e, target) from e.__cause__


def _scrubbed(e: NodeError, target: _Target) -> NodeError:
    if target.password and target.password in e.message:
        return type(e)(e.message.replace(target.password, "***"), e.details)
    return e


def _connect(target: _Target) -> Connection:
    try:
        return target.engine.connect()
    except exc.DBAPIError as e:
        raise RetryableNodeError(
            f"Could not connect to the database at {target.masked}: {_reason(e)}. Check that the "
            "server is running and reachable, and the host, port, user and password of the "
            "connection."
        ) from e


def _write(target: _Target, raw_url: str, table: str, operation: str,
           rows: Sequence[tuple[str, dict[str, Any]]], key_columns: Sequence[str], batch_size: int,
           create_table: bool, strict_columns: bool) -> list[RowResult]:
    results: list[RowResult | None] = [None] * len(rows)
    conn = _connect(target)
    try:
        try:
            plan = table_plan(target, raw_url, table, conn,
                              create_from=[v for _, v in rows] if create_table else None,
                              key_columns=key_columns)
            _check_plan(plan, operation, key_columns, strict_columns, rows)
            _ensure_ledger(target, conn)
        except exc.DBAPIError as e:
            conn.rollback()
            raise _database_error(target, table, e) from e
        prepared = _prepare(plan, operation, key_columns, rows, results)
        if not prepared:
            return [r or RowResult("failed", "nothing to write") for r in results]
        chunks = [prepared[i:i + batch_size] for i in range(0, len(prepared), batch_size)]
        try:
            _write_fast(conn, plan, operation, key_columns, chunks, results)
        except (_LedgerConflict, RowError, exc.StatementError) as e:
            conn.rollback()
            if not isinstance(e, _LedgerConflict) and not _is_row_error(e):
                raise _database_error(target, table, e, plan_key=(raw_url, table)) from e
            for r in prepared:
                results[r.index] = None
            try:
                _write_careful(conn, plan, operation, key_columns, chunks, results)
            except exc.StatementError as e2:
                conn.rollback()
                raise _database_error(target, table, e2, plan_key=(raw_url, table)) from e2
    finally:
        conn.close()
    return [r or RowResult("failed", "not written") for r in results]


def _check_plan(plan: TablePlan, operation: str, key_columns: Sequence[str], strict: bool,
                rows: Sequence[tuple[str, dict[str, Any]]]) -> None:
    missing_keys = [c for c in key_columns if c not in plan.columns]
    if missing_keys:
        raise NodeError(
            f"Table {plan.name!r} has no column {', '.join(map(repr, missing_keys))} named in "
            f"key_columns. Its columns are: {', '.join(sorted(plan.columns))}."
        )
    if strict:
        unknown = sorted({c for _, v in rows for c in v if c not in plan.columns})
        if unknown:
            raise NodeError(
                f"Table {plan.name!r} has no column {', '.join(map(repr, unknown))}. Correct the "
                f"column names in the mapping; the table's columns are: "
                f"{', '.join(sorted(plan.columns))}."
            )
    if operation == "upsert" and frozenset(key_columns) not in plan.unique_sets:
        raise NodeError(
            f"Upsert into {plan.name!r} needs a primary key or a unique index on "
            f"({', '.join(key_columns)}), so that the database can tell an existing row from a "
            f"new one. Add one (CREATE UNIQUE INDEX ... ON {plan.name} ({', '.join(key_columns)})), "
            "or choose key_columns that have one."
        )


def _prepare(plan: TablePlan, operation: str, key_columns: Sequence[str],
             rows: Sequence[tuple[str, dict[str, Any]]], results: list[RowResult | None]) -> list[_Row]:
    out: list[_Row] = []
    cols = plan.columns
    coercers = plan.coercers
    for i, (key, values) in enumerate(rows):
        row: dict[str, Any] = {}
        try:
            for name, value in values.items():
                if name not in cols:
                    continue
                fn = coercers.get(name)
                if fn is not None:
                    try:
                        value = fn(value)
                    except RowError as e:
                        raise RowError(f"column {name!r}: {e}") from None
                row[name] = value
        except RowError as e:
            results[i] = RowResult("failed", f"Cannot write to {plan.name!r}, {e}.")
            continue
        if not row:
            results[i] = RowResult("failed", f"The item has none of the columns of {plan.name!r} "
                                   f"({', '.join(sorted(cols))}).")
            continue
        absent = [c for c in key_columns if row.get(c) is None]
        if absent and operation != "insert":
            results[i] = RowResult("failed", f"The item has no value for the key column "
                                   f"{', '.join(map(repr, absent))}, so the row to "
                                   f"{operation} cannot be found.")
            continue
        out.append(_Row(i, key, row))
    return out


def _write_fast(conn: Connection, plan: TablePlan, operation: str, key_columns: Sequence[str],
                chunks: list[list[_Row]], results: list[RowResult | None]) -> None:
    with conn.begin():
        for chunk in chunks:
            for index, res in _write_chunk(conn, plan, operation, key_columns, chunk).items():
                results[index] = res


def _write_careful(conn: Connection, plan: TablePlan, operation: str, key_columns: Sequence[str],
                   chunks: list[list[_Row]], results: list[RowResult | None]) -> None:
    with conn.begin():
        for chunk in chunks:
            done = _ledger_keys(conn, [r.key for r in chunk])
            pending = []
            for r in chunk:
                if r.key in done:
                    results[r.index] = RowResult("already_written")
                else:
                    pending.append(r)
            if not pending:
                continue
            sp = conn.begin_nested()
            try:
                chunk_results = _write_chunk(conn, plan, operation, key_columns, pending)
                sp.commit()
            except (_LedgerConflict, RowError, exc.StatementError) as e:
                sp.rollback()
                if not isinstance(e, _LedgerConflict) and not _is_row_error(e):
                    raise
                chunk_results = {}
                for r in pending:
                    sp = conn.begin_nested()
                    try:
                        chunk_results.update(_write_chunk(conn, plan, operation, key_columns, [r]))
                        sp.commit()
                    except _LedgerConflict:
                        sp.rollback()
                        chunk_results[r.index] = RowResult("already_written")
                    except (RowError, exc.StatementError) as e:
                        sp.rollback()
                        if not _is_row_error(e):
                            raise
                        chunk_results[r.index] = RowResult("failed", _row_message(plan, operation, e))
            for index, res in chunk_results.items():
                results[index] = res


def _ledger_keys(conn: Connection, keys: list[str]) -> set[str]:
    col = _LEDGER.c.idempotency_key
    return set(conn.execute(sa.select(col).where(col.in_(keys))).scalars())


def _key_of(values: dict[str, Any], key_columns: Sequence[str]) -> tuple[str, ...]:
    return tuple(str(values.get(c)) for c in key_columns)


def _existing_keys(conn: Connection, plan: TablePlan, key_columns: Sequence[str],
                   rows: list[_Row]) -> set[tuple[str, ...]]:
    cols = [plan.table.c[c] for c in key_columns]
    if len(cols) == 1:
        cond = cols[0].in_({r.values[key_columns[0]] for r in rows})
    else:
        cond = sa.tuple_(*cols).in_({tuple(r.values[c] for c in key_columns) for r in rows})
    return {tuple(str(v) for v in row) for row in conn.execute(sa.select(*cols).where(cond))}


def _write_chunk(conn: Connection, plan: TablePlan, operation: str, key_columns: Sequence[str],
                 rows: list[_Row]) -> dict[int, RowResult]:
    """Write one chunk; answers the result of each row. Raises _LedgerConflict when a row was
    written before, or the database's error for a bad row (the caller rolls back)."""
    out: dict[int, RowResult] = {}
    if operation == "insert":
        for r in rows:
            out[r.index] = RowResult("inserted")
    else:
        existing = _existing_keys(conn, plan, key_columns, rows)
        keep = []
        for r in rows:
            found = _key_of(r.values, key_columns) in existing
            if operation == "update" and not found:
                out[r.index] = RowResult("failed", _not_found(plan, key_columns, r.values))
                continue
            out[r.index] = RowResult("updated" if found else "inserted")
            keep.append(r)
        rows = keep
        if not rows:
            return out
    now = datetime.now(UTC)
    try:
        conn.execute(_LEDGER.insert(), [{"idempotency_key": r.key, "table_name": plan.name,
                                         "written_at": now} for r in rows])
    except exc.IntegrityError as e:
        raise _LedgerConflict() from e
    if operation == "insert":
        _execute_insert(conn, plan, rows)
    elif operation == "update":
        _execute_update(conn, plan, key_columns, rows)
    else:
        _execute_upsert(conn, plan, key_columns, rows)
    return out


def _groups(rows: list[_Row]) -> dict[frozenset[str], list[dict[str, Any]]]:
    """executemany needs rows with the same columns: group them (usually one group)."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(frozenset(r.values), []).append(r.values)
    return groups


def _execute_insert(conn: Connection, plan: TablePlan, rows: list[_Row]) -> None:
    stmt = plan.statements.get("insert")
    if stmt is None:
        stmt = plan.statements["insert"] = plan.table.insert()
    for params in _groups(rows).values():
        conn.execute(stmt, params)


def _execute_update(conn: Connection, plan: TablePlan, key_columns: Sequence[str],
                    rows: list[_Row]) -> None:
    t = plan.table
    for cols, params in _groups(rows).items():
        set_cols = sorted(cols - set(key_columns))
        if not set_cols:  # only the key: the row exists, nothing to change
            continue
        cache_key = ("update", cols)
        stmt = plan.statements.get(cache_key)
        if stmt is None:
            stmt = (t.update()
                    .where(sa.and_(*(t.c[k] == sa.bindparam(f"k__{k}") for k in key_columns)))
                    .values({c: sa.bindparam(f"v__{c}") for c in set_cols}))
            plan.statements[cache_key] = stmt
        conn.execute(stmt, [{**{f"k__{k}": p[k] for k in key_columns},
                             **{f"v__{c}": p[c] for c in set_cols}} for p in params])


def _execute_upsert(conn: Connection, plan: TablePlan, key_columns: Sequence[str],
                    rows: list[_Row]) -> None:
    dialect = conn.dialect.name
    keys = [_key_of(r.values, key_columns) for r in rows]
    if len(set(keys)) != len(keys):
        # the same key twice in one statement: PostgreSQL refuses it, so write one by one
        for r in rows:
            _execute_upsert(conn, plan, key_columns, [r])
        return
    for cols, params in _groups(rows).items():
        cache_key = ("upsert", cols)
        stmt = plan.statements.get(cache_key)
        if stmt is None:
            stmt = _upsert_statement(dialect, plan.table, key_columns, cols)
            plan.statements[cache_key] = stmt
        if stmt is None:  # another database: update the rows that exist, insert the others
            _generic_upsert(conn, plan, key_columns, params)
        else:
            conn.execute(stmt, params)


def _upsert_statement(dialect: str, table: sa.Table, key_columns: Sequence[str],
                      cols: frozenset[str]) -> Any:
    set_cols = sorted(cols - set(key_columns))
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        stmt = insert(table)
        if not set_cols:
            return stmt.on_conflict_do_nothing(index_elements=list(key_columns))
        return stmt.on_conflict_do_update(index_elements=list(key_columns),
                                          set_={c: stmt.excluded[c] for c in set_cols})
    if dialect in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        mstmt = mysql_insert(table)
        update_cols = set_cols or list(key_columns)  # a no-op update keeps the row as it is
        return mstmt.on_duplicate_key_update({c: mstmt.inserted[c] for c in update_cols})
    return None


def _generic_upsert(conn: Connection, plan: TablePlan, key_columns: Sequence[str],
                    params: list[dict[str, Any]]) -> None:
    rows = [_Row(0, "", p) for p in params]
    existing = _existing_keys(conn, plan, key_columns, rows)
    to_update = [r for r in rows if _key_of(r.values, key_columns) in existing]
    to_insert = [r.values for r in rows if _key_of(r.values, key_columns) not in existing]
    if to_update:
        _execute_update(conn, plan, key_columns, to_update)
    if to_insert:
        conn.execute(plan.table.insert(), to_insert)


# ------------------------------------------------------------------------------- errors
def _reason(e: BaseException) -> str:
    """The driver's own message, without SQLAlchemy's statement and parameters."""
    orig = getattr(e, "orig", None)
    text = str(orig if orig is not None else e).strip()
    if orig is not None and hasattr(orig, "args") and len(orig.args) == 2 and isinstance(orig.args[0], int):
        text = str(orig.args[1])  # PyMySQL: (code, message)
    return text.splitlines()[0] if text else type(e).__name__


def _not_found(plan: TablePlan, key_columns: Sequence[str], values: dict[str, Any]) -> str:
    where = ", ".join(f"{c}={values.get(c)!r}" for c in key_columns)
    return f"No row in {plan.name!r} with {where} to update. Use upsert to insert missing rows."


def _row_message(plan: TablePlan, operation: str, e: BaseException) -> str:
    if isinstance(e, RowError):
        return f"Cannot write to {plan.name!r}, {e}."
    if isinstance(e, exc.IntegrityError):
        return (f"The row breaks a constraint of {plan.name!r}: {_reason(e)}. Correct the item, "
                "or use upsert if the row may already exist.")
    if isinstance(e, exc.DataError):
        return f"A value does not fit its column in {plan.name!r}: {_reason(e)}."
    return f"Cannot {operation} the row in {plan.name!r}: {_reason(e)}."


def _database_error(target: _Target, table: str, e: BaseException,
                    plan_key: tuple[str, str] | None = None) -> NodeError:
    if plan_key is not None:  # the table may have changed: reflect it again next time
        with _lock:
            _tables.pop(plan_key, None)
        target.ledger_ready = False
    reason = _reason(e)
    if isinstance(e, exc.OperationalError | exc.InterfaceError) and (
            getattr(e, "connection_invalidated", False) or _looks_transient(reason)):
        return RetryableNodeError(
            f"The database at {target.masked} failed while writing to {table!r}: {reason}. "
            "The step will be tried again.")
    if isinstance(e, exc.ProgrammingError | exc.OperationalError):
        return NodeError(f"Cannot write to {table!r} in {target.masked}: {reason}. Check that the "
                         "table and its columns still exist and that the connection's user may "
                         "write to it.")
    return NodeError(f"Writing to {table!r} in {target.masked} failed: {reason}")


_TRANSIENT = ("locked", "deadlock", "timeout", "timed out", "lost connection", "gone away",
              "terminat", "connection", "could not serialize", "server closed")


def _looks_transient(reason: str) -> bool:
    low = reason.lower()
    return any(w in low for w in _TRANSIENT)


def prune_ledger(raw_url: str, older_than: datetime) -> int:
    """Delete ledger keys written before ``older_than`` (no activation that old is retried any
    more); answers how many were deleted."""
    target = target_for(raw_url)
    with _connect(target) as conn:
        _ensure_ledger(target, conn)
        with conn.begin():
            res = conn.execute(_LEDGER.delete().where(_LEDGER.c.written_at < older_than))
        return int(res.rowcount or 0)


__all__ = ["LEDGER_TABLE", "RowResult", "dispose_all", "engine_for", "mask_url", "normalize_url",
           "prune_ledger", "url_problem", "write_rows"]
