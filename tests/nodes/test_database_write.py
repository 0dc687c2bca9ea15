"""DatabaseWrite against real databases: SQLite in a temporary folder, and the PostgreSQL and
MariaDB servers on 127.0.0.1 (those tests skip, saying so, when the server is not running)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from datacollect.engine.ports import Services
from datacollect.errors import NodeError, RetryableNodeError
from datacollect.integrations import sqldb
from datacollect.nodes.database_write import DatabaseWrite
from tests.nodes.conftest import make_ctx, make_node

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/test"


@cache
def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Db:
    """A database under test, with one freshly made table ``suppliers_<random>``."""

    url: str
    engine: sa.Engine
    table: str

    def rows(self, order_by: str = "id") -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            result = conn.execute(sa.text(f"SELECT * FROM {self.table} ORDER BY {order_by}"))
            return [dict(r._mapping) for r in result]

    def insert(self, *rows: dict[str, Any]) -> None:
        table = sa.Table(self.table, sa.MetaData(), autoload_with=self.engine)
        with self.engine.begin() as conn:
            conn.execute(table.insert(), list(rows))

    def node(self, **config: Any) -> DatabaseWrite:
        return make_node(DatabaseWrite, {"connection": self.url, "table": self.table, **config},
                         node_id="db")  # type: ignore[return-value]


def _suppliers(metadata: sa.MetaData, name: str) -> sa.Table:
    return sa.Table(
        name, metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(100), unique=True),
        sa.Column("co2", sa.Numeric(12, 3)),
        sa.Column("reported", sa.Date),
    )


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    pytest.param("mariadb", id="mariadb"),
]


def _server_url(backend: str, tmp_path: Any) -> tuple[str, sa.Engine]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/target.db"
        return url, sa.create_engine(url)
    if backend == "postgresql":
        if not _listening(5432):
            pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
        return PG_URL, sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    if not _listening(3306):
        pytest.skip("MariaDB is not running on 127.0.0.1:3306")
    return MARIADB_URL, sa.create_engine(MARIADB_URL)


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Db]:
    if request.param == "postgresql":
        request.getfixturevalue("services_in_use")  # a fault test restarting the server waits for this one
    url, engine = _server_url(request.param, tmp_path)
    name = f"suppliers_{uuid.uuid4().hex[:10]}"
    metadata = sa.MetaData()
    table = _suppliers(metadata, name)
    metadata.create_all(engine)
    try:
        yield Db(url=url, engine=engine, table=name)
    finally:
        sqldb.dispose_all()
        table.drop(engine, checkfirst=True)
        if sa.inspect(engine).has_table(sqldb.LEDGER_TABLE):
            with engine.begin() as conn:
                conn.execute(sa.text(f"DELETE FROM {sqldb.LEDGER_TABLE} WHERE table_name = :t"),
                             {"t": name})
        engine.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Any) -> Iterator[Db]:
    url = f"sqlite:///{tmp_path}/target.db"
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    _suppliers(metadata, "suppliers").create(engine)
    yield Db(url=url, engine=engine, table="suppliers")
    sqldb.dispose_all()
    engine.dispose()


def ctx(run_id: str = "run", **kw: Any):
    """A context of a new run (run ids are unique: the ledger of a server database outlives a test)."""
    return make_ctx(node_id="db", run_id=f"{run_id}-{uuid.uuid4().hex[:8]}", **kw)


ITEMS = [
    {"id": 1, "name": "Acme", "email": "esg@acme.test", "co2": 12.5, "reported": "2025-03-31",
     "form": "supplier_emissions_v2"},
    {"id": 2, "name": "Globex", "email": "esg@globex.test", "co2": "7.25", "reported": "2025-03-30"},
]


# ----------------------------------------------------------------------------- operations
async def test_insert_writes_the_fields_that_are_columns_and_reports_each_item(db: Db) -> None:
    out = await db.node().run(ctx(), ITEMS)

    assert [it["_write"] for it in out["main"]] == [
        {"table": db.table, "operation": "insert", "status": "inserted"}] * 2
    assert out["main"][0]["form"] == "supplier_emissions_v2"  # the item goes on unchanged
    assert "error" not in out
    rows = db.rows()
    assert [(r["id"], r["name"], float(r["co2"]), str(r["reported"])) for r in rows] == [
        (1, "Acme", 12.5, "2025-03-31"), (2, "Globex", 7.25, "2025-03-30")]


async def test_update_changes_the_row_found_by_its_key(db: Db) -> None:
    db.insert({"id": 1, "name": "Acme", "email": "old@acme.test"},
              {"id": 2, "name": "Globex", "email": "esg@globex.test"})

    out = await db.node(operation="update", key_columns=["id"]).run(
        ctx(), [{"id": 1, "name": "Acme Corp", "email": "new@acme.test"}])

    assert out["main"][0]["_write"]["status"] == "updated"
    assert [(r["id"], r["name"], r["email"]) for r in db.rows()] == [
        (1, "Acme Corp", "new@acme.test"), (2, "Globex", "esg@globex.test")]


async def test_update_of_a_row_that_does_not_exist_sends_the_item_to_the_error_port(db: Db) -> None:
    db.insert({"id": 1, "name": "Acme"})

    out = await db.node(operation="update", key_columns=["id"]).run(
        ctx(), [{"id": 1, "name": "Acme Corp"}, {"id": 9, "name": "Nobody"}])

    assert [it["id"] for it in out["main"]] == [1]
    assert [it["id"] for it in out["error"]] == [9]
    assert "No row" in out["error"][0]["error"]["message"]
    assert "id=9" in out["error"][0]["error"]["message"]
    assert [(r["id"], r["name"]) for r in db.rows()] == [(1, "Acme Corp")]


async def test_upsert_updates_existing_rows_and_inserts_new_ones(db: Db) -> None:
    db.insert({"id": 1, "name": "Acme", "co2": 1})

    out = await db.node(operation="upsert", key_columns=["id"]).run(
        ctx(), [{"id": 1, "name": "Acme", "co2": 11}, {"id": 3, "name": "Initech", "co2": 3}])

    assert [(it["id"], it["_write"]["status"]) for it in out["main"]] == [(1, "updated"), (3, "inserted")]
    assert [(r["id"], float(r["co2"])) for r in db.rows()] == [(1, 11.0), (3, 3.0)]


async def test_upsert_with_the_same_key_twice_keeps_the_last_item(db: Db) -> None:
    out = await db.node(operation="upsert", key_columns=["id"]).run(
        ctx(), [{"id": 5, "name": "First"}, {"id": 5, "name": "Second"}])

    assert len(out["main"]) == 2
    assert [(r["id"], r["name"]) for r in db.rows()] == [(5, "Second")]


# ------------------------------------------------------------------------- exactly once
async def test_retried_activation_writes_each_row_once(db: Db) -> None:
    node = db.node()
    activation = ctx(run_id="run-retried")

    first = await node.run(activation, ITEMS)
    again = await node.run(activation, ITEMS)

    assert [it["_write"]["status"] for it in first["main"]] == ["inserted", "inserted"]
    assert [it["_write"]["status"] for it in again["main"]] == ["already_written", "already_written"]
    assert len(db.rows()) == 2


async def test_retried_upsert_does_not_apply_the_same_item_twice(db: Db) -> None:
    node = db.node(operation="upsert", key_columns=["id"])
    activation = ctx(run_id="run-upsert-retried")
    await node.run(activation, [{"id": 1, "name": "Acme"}])
    db.insert({"id": 2, "name": "Written by someone else"})

    again = await node.run(activation, [{"id": 1, "name": "Acme"}, {"id": 2, "name": "Globex"}])

    assert [it["_write"]["status"] for it in again["main"]] == ["already_written", "updated"]
    assert [(r["id"], r["name"]) for r in db.rows()] == [(1, "Acme"), (2, "Globex")]


async def test_two_deliveries_of_one_activation_at_the_same_time_write_once(db: Db) -> None:
    node = db.node()
    activation = ctx(run_id="run-twice")

    a, b = await asyncio.gather(node.run(activation, ITEMS), node.run(activation, ITEMS))

    statuses = sorted(it["_write"]["status"] for it in a["main"] + b["main"])
    assert statuses == ["already_written", "already_written", "inserted", "inserted"]
    assert len(db.rows()) == 2


async def test_another_run_writes_again(db: Db) -> None:
    node = db.node(operation="upsert", key_columns=["id"])

    await node.run(ctx(run_id="run-q1"), [{"id": 1, "name": "Acme Q1"}])
    out = await node.run(ctx(run_id="run-q2"), [{"id": 1, "name": "Acme Q2"}])

    assert out["main"][0]["_write"]["status"] == "updated"
    assert [r["name"] for r in db.rows()] == ["Acme Q2"]


# ------------------------------------------------------------------------ bad items
async def test_a_row_that_breaks_a_constraint_goes_to_the_error_port_and_the_others_are_written(db: Db) -> None:
    db.insert({"id": 10, "name": "Existing", "email": "taken@example.test"})
    items = [{"id": 1, "name": "Acme", "email": "esg@acme.test"},
             {"id": 2, "name": "Copycat", "email": "taken@example.test"},
             {"id": 3, "name": "Initech", "email": "esg@initech.test"}]

    out = await db.node(batch_size=2).run(ctx(), items)

    assert [it["id"] for it in out["main"]] == [1, 3]
    assert [it["id"] for it in out["error"]] == [2]
    assert "constraint" in out["error"][0]["error"]["message"]
    assert [r["id"] for r in db.rows()] == [1, 3, 10]


async def test_after_a_bad_row_a_retry_skips_the_written_rows_and_tries_the_bad_one_again(db: Db) -> None:
    node = db.node()
    activation = ctx(run_id="run-partial")
    items = [{"id": 1, "name": "Acme"}, {"id": 2, "name": None}]

    first = await node.run(activation, items)
    again = await node.run(activation, items)

    assert [it["id"] for it in first["error"]] == [2]
    assert [it["_write"]["status"] for it in again["main"]] == ["already_written"]
    assert [it["id"] for it in again["error"]] == [2]
    assert [r["id"] for r in db.rows()] == [1]


async def test_a_value_that_is_not_a_number_goes_to_the_error_port(db: Db) -> None:
    out = await db.node().run(ctx(), [{"id": 1, "name": "Acme", "co2": "a lot"},
                                      {"id": 2, "name": "Globex", "co2": ""}])

    assert [it["id"] for it in out["main"]] == [2]
    assert "'co2'" in out["error"][0]["error"]["message"]
    assert "not a number" in out["error"][0]["error"]["message"]
    assert [(r["id"], r["co2"]) for r in db.rows()] == [(2, None)]


async def test_an_item_without_its_key_cannot_be_updated(sqlite_db: Db) -> None:
    out = await sqlite_db.node(operation="update", key_columns=["id"]).run(ctx(), [{"name": "Who?"}])

    assert out["main"] == []
    assert "key column 'id'" in out["error"][0]["error"]["message"]


# ----------------------------------------------------------------- activation errors
async def test_a_missing_table_is_a_node_error_that_names_it(db: Db) -> None:
    node = make_node(DatabaseWrite, {"connection": db.url, "table": "no_such_table"})

    with pytest.raises(NodeError) as info:
        await node.run(ctx(), ITEMS)

    assert not info.value.retryable
    assert "'no_such_table' does not exist" in info.value.message


@pytest.mark.parametrize("scheme", ["postgresql", "mysql+pymysql"])
async def test_an_unreachable_server_is_a_retryable_node_error(scheme: str) -> None:
    port = _closed_port()
    node = make_node(DatabaseWrite, {"connection": f"{scheme}://root@127.0.0.1:{port}/test",
                                     "table": "suppliers"})

    with pytest.raises(RetryableNodeError) as info:
        await node.run(ctx(), ITEMS)

    assert "Could not connect" in info.value.message
    assert f"127.0.0.1:{port}" in info.value.message
    sqldb.dispose_all()


async def test_a_password_is_never_shown_in_an_error() -> None:
    url = f"postgresql://collector:s3cr3t-pass@127.0.0.1:{_closed_port()}/figures"
    node = make_node(DatabaseWrite, {"connection": url, "table": "suppliers"})

    with pytest.raises(NodeError) as info:
        await node.run(ctx(), ITEMS)

    assert "s3cr3t-pass" not in info.value.message
    assert "collector:***@127.0.0.1" in info.value.message
    assert "s3cr3t-pass" not in str(info.value.__cause__ or "")
    sqldb.dispose_all()


async def test_a_configured_column_that_the_table_lacks_is_a_node_error(sqlite_db: Db) -> None:
    node = sqlite_db.node(columns={"id": "id", "emission": "co2"})

    with pytest.raises(NodeError) as info:
        await node.run(ctx(), ITEMS)

    assert "no column 'emission'" in info.value.message
    assert "co2" in info.value.message  # the real columns are listed


async def test_an_upsert_key_without_a_unique_index_is_a_node_error(db: Db) -> None:
    node = db.node(operation="upsert", key_columns=["name"])

    with pytest.raises(NodeError) as info:
        await node.run(ctx(), ITEMS)

    assert "unique index on (name)" in info.value.message


def test_update_and_upsert_require_key_columns() -> None:
    for operation in ("update", "upsert"):
        with pytest.raises(ValidationError) as info:
            DatabaseWrite.Config.model_validate(
                {"connection": "sqlite://", "table": "t", "operation": operation})
        assert "key_columns is required" in str(info.value)


def test_the_config_refuses_unknown_keys_and_documents_every_field() -> None:
    with pytest.raises(ValidationError):
        DatabaseWrite.Config.model_validate({"connection": "sqlite://", "table": "t", "mode": "insert"})
    schema = DatabaseWrite.config_schema()
    assert all(p.get("description") for p in schema["properties"].values())
    assert DatabaseWrite.spec()["ports"] == ["main", "error"]
    assert DatabaseWrite.spec()["side_effects"] is True


def test_a_url_that_is_no_url_is_reported_at_save_time() -> None:
    node = make_node(DatabaseWrite, {"connection": "nosuchdb://x/y", "table": "t"})

    assert any("No database driver" in p for p in node.check())


# ------------------------------------------------------------------------- mapping
async def test_columns_take_item_fields_templates_and_constants(sqlite_db: Db) -> None:
    node = sqlite_db.node(columns={
        "id": "supplier.id",
        "name": "{{ item.supplier.name | upper }}",
        "co2": "{{ item.scope1 + item.scope2 }}",
        "email": None,
    })

    out = await node.run(ctx(), [{"supplier": {"id": 7, "name": "acme"}, "scope1": 2, "scope2": 3.5}])

    assert out["main"][0]["_write"]["status"] == "inserted"
    row = sqlite_db.rows()[0]
    assert (row["id"], row["name"], float(row["co2"]), row["email"]) == (7, "ACME", 5.5, None)


async def test_a_template_that_fails_on_one_item_sends_only_that_item_to_the_error_port(sqlite_db: Db) -> None:
    node = sqlite_db.node(columns={"id": "id", "name": "{{ item.profile.name }}"})

    out = await node.run(ctx(), [{"id": 1, "profile": {"name": "Acme"}}, {"id": 2}])

    assert [it["id"] for it in out["main"]] == [1]
    assert "Cannot compute the row" in out["error"][0]["error"]["message"]


async def test_a_stored_connection_name_is_looked_up_in_the_services(sqlite_db: Db) -> None:
    node = make_node(DatabaseWrite, {"connection": "reporting-db", "table": "suppliers"})
    services = Services(extra={"connections": {"reporting-db": sqlite_db.url}})

    out = await node.run(ctx(services=services), ITEMS[:1])

    assert out["main"][0]["_write"]["status"] == "inserted"
    assert len(sqlite_db.rows()) == 1


async def test_create_table_makes_the_table_from_the_items(db: Db) -> None:
    table = f"created_{uuid.uuid4().hex[:8]}"
    node = make_node(DatabaseWrite, {"connection": db.url, "table": table, "operation": "upsert",
                                     "key_columns": ["code"], "create_table": True})
    try:
        out = await node.run(ctx(), [{"code": "S-1", "score": 0.9, "count": 3, "ok": True,
                                      "tags": ["a"]},
                                     {"code": "S-2", "score": None, "count": 4, "ok": False}])
        again = await node.run(ctx(), [{"code": "S-1", "score": 0.5, "count": 1, "ok": False}])

        assert [it["_write"]["status"] for it in out["main"]] == ["inserted", "inserted"]
        assert again["main"][0]["_write"]["status"] == "updated"
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text(f"SELECT code, score, count, ok FROM {table} ORDER BY code")).all()
        assert [(r[0], r[1], r[2], bool(r[3])) for r in rows] == [("S-1", 0.5, 1, False),
                                                                  ("S-2", None, 4, False)]
    finally:
        sqldb.dispose_all()
        with db.engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))


# ----------------------------------------------------------------------- the hot path
async def test_a_second_activation_does_no_reflection_only_the_writes(sqlite_db: Db) -> None:
    node = sqlite_db.node()
    await node.run(ctx(), [ITEMS[0]])
    statements: list[str] = []
    engine = sqldb.engine_for(sqlite_db.url)
    sa.event.listen(engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *args: statements.append(statement))

    await node.run(ctx(), [ITEMS[1]])

    assert [s.split()[0] + " " + s.split()[1] for s in statements] == [
        "BEGIN IMMEDIATE", "INSERT INTO", "INSERT INTO"]
    assert "datacollect_write_ledger" in statements[1]
