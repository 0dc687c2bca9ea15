"""The SQLite engine: BEGIN goes straight to the driver, and its failures keep SQLAlchemy's shape."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import exc, text

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
