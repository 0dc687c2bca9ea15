"""Engine and session factory for SQLite (the embedded shape) and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA cache_size=-20000")
    cur.close()


def sqlite_begin(conn: Connection, sql: str) -> None:
    """Send BEGIN straight to the driver from a ``begin`` listener: through ``exec_driver_sql``
    it cost more than a short transaction's own statements (a statement context, events, a
    cursor wrapper). A failure (``database is locked``) is raised as SQLAlchemy's own error,
    as it was through ``exec_driver_sql``."""
    try:
        conn.connection.driver_connection.execute(sql)  # type: ignore[union-attr]
    except sqlite3.Error as e:
        raise exc.DBAPIError.instance(sql, (), e, sqlite3.Error) from e


def make_engine(url: str, **kw: Any) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10},
                               pool_size=8, max_overflow=16, **kw)
        event.listen(engine, "connect", _sqlite_pragmas)
        # The driver's own transaction handling is switched off; BEGIN is ours. Writers take
        # the write lock at BEGIN (``immediate``), so two writers never deadlock on upgrade.
        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("immediate", False)
            sqlite_begin(conn, "BEGIN IMMEDIATE" if immediate else "BEGIN")

        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_conn: Any, _r: Any) -> None:
            dbapi_conn.isolation_level = None

        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **kw)


class Database:
    """The engine plus a session factory; one per process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def writer(self) -> Engine:
        """The engine for write transactions (on SQLite: BEGIN IMMEDIATE)."""
        return self.engine.execution_options(immediate=True)

    def session(self) -> Session:
        return self.sessions()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one write transaction, committed (or rolled back) on leaving the block.
        Keep the block free of awaits: on SQLite it holds the database's write lock."""
        with self.sessions(bind=self.writer) as s, s.begin():
            yield s

    def dispose(self) -> None:
        self.engine.dispose()
