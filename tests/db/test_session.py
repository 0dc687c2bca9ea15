"""The SQLite engine: BEGIN goes straight to the driver, and its failures keep SQLAlchemy's shape."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import event, exc, text

from datacollect.db.session import Database


def test_a_write_transaction_holds_the_write_lock_from_begin(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    with db.engine.begin() as c:
        c.execute(text("CREATE TABLE t (v INTEGER)"))
    with db.writer.begin() as c:
        c.execute(text("INSERT INTO t VALUES (1)"))
    with db.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM t")).scalar() == 1
    db.dispose()


def test_a_begin_that_finds_the_database_locked_raises_sqlalchemys_operational_error(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    holder = Database(f"sqlite:///{tmp_path / 'a.db'}")
    with db.engine.begin() as c:
        c.execute(text("CREATE TABLE t (v INTEGER)"))
    with db.engine.connect() as c:  # the pool's one connection: it gives up at once
        c.exec_driver_sql("PRAGMA busy_timeout=0")
    with holder.writer.begin():
        with pytest.raises(exc.OperationalError, match="locked"):
            with db.writer.begin():
                pass
    db.dispose()
    holder.dispose()



def counting_table(tmp_path: Path, **kw: float) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}", **kw)
    with db.engine.begin() as c:
        c.execute(text("CREATE TABLE t (v INTEGER PRIMARY KEY)"))
    return db


def count(db: Database) -> int:
    with db.engine.connect() as c:
        return int(c.execute(text("SELECT count(*) FROM t")).scalar_one())


def test_twenty_threads_writing_at_once_take_turns_and_every_write_lands(tmp_path: Path) -> None:
    db = counting_table(tmp_path)
    db.engine.dispose()  # every connection from now on gives up at once should it meet SQLite's own lock
    event.listen(db.engine, "connect", lambda conn, _record: conn.execute("PRAGMA busy_timeout=0"))

    def write(i: int) -> None:
        for k in range(20):
            with db.writer.begin() as c:
                n = c.execute(text("SELECT count(*) FROM t")).scalar_one()
                c.execute(text("INSERT INTO t VALUES (:v)"), {"v": i * 100 + k})
                assert c.execute(text("SELECT count(*) FROM t")).scalar_one() == n + 1

    with ThreadPoolExecutor(20) as pool:
        list(pool.map(write, range(20)))
    assert count(db) == 400
    db.dispose()


def test_the_next_writer_goes_after_an_error_a_failed_statement_or_a_dropped_connection(tmp_path: Path) -> None:
    db = counting_table(tmp_path, writer_timeout=0.5)
    with pytest.raises(RuntimeError), db.write() as s:
        s.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("the block failed")
    with pytest.raises(exc.IntegrityError), db.writer.begin() as c:
        c.execute(text("INSERT INTO t VALUES (2), (2)"))
    c = db.writer.connect()
    c.begin()
    c.execute(text("INSERT INTO t VALUES (3)"))
    c.invalidate()  # the connection is dropped mid-transaction
    c.close()
    with db.writer.begin() as c:  # this would fail as locked, were any of those still inside the gate
        c.execute(text("INSERT INTO t VALUES (4)"))
    assert count(db) == 1
    db.dispose()


def test_a_writer_that_waits_longer_than_its_timeout_fails_as_locked_and_the_first_goes_on(tmp_path: Path) -> None:
    db = counting_table(tmp_path, writer_timeout=0.2)
    failed: list[BaseException] = []

    def second() -> None:
        try:
            with db.writer.begin() as c:
                c.execute(text("INSERT INTO t VALUES (2)"))
        except exc.OperationalError as e:
            failed.append(e)

    with db.writer.begin() as c:
        c.execute(text("INSERT INTO t VALUES (1)"))
        other = threading.Thread(target=second)
        other.start()
        other.join()
    assert len(failed) == 1 and "database is locked" in str(failed[0])
    assert count(db) == 1
    db.dispose()
