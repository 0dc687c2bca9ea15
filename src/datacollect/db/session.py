"""Engine and session factory for SQLite (the embedded shape) and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
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


class WriterGate:
    """This process's writers to one SQLite file, one at a time, before they ask SQLite for its
    write lock. SQLite makes a writer that finds the lock taken sleep and try again (1, 2, 5 ...
    up to 100 ms between tries), so under concurrent writes from threads the lock sat idle while
    the next writer slept: 20 reviewers claiming at once got about 67 claims a second. A waiter
    here wakes as soon as the writer before it ends. Other processes on the same file still meet
    SQLite's own lock (``busy_timeout``).

    The gate is taken at BEGIN IMMEDIATE and given back after the COMMIT or ROLLBACK reaches
    the driver (also the pool's rollback of a connection handed back mid-transaction), or when
    the connection is dropped. A writer that waits longer than SQLite would have fails the same
    way: ``database is locked``."""

    def __init__(self, engine: Engine, timeout: float = 10.0) -> None:
        self._lock = threading.Lock()
        self.timeout = timeout
        dialect = engine.dialect
        commit, rollback = dialect.do_commit, dialect.do_rollback

        def do_commit(dbapi_conn: Any) -> None:
            try:
                commit(dbapi_conn)
            finally:
                self.leave(dbapi_conn)

        def do_rollback(dbapi_conn: Any) -> None:
            try:
                rollback(dbapi_conn)
            finally:
                self.leave(dbapi_conn)

        # the dialect's own commit and rollback, then the gate (an engine's dialect is its own)
        dialect.do_commit = do_commit  # type: ignore[method-assign]
        dialect.do_rollback = do_rollback  # type: ignore[method-assign]
        event.listen(engine, "invalidate", lambda dbapi_conn, _record, _e: self.leave(dbapi_conn))
        event.listen(engine, "close", lambda dbapi_conn, _record: self.leave(dbapi_conn))
        self._holder: Any = None  # the driver connection inside the gate

    def enter(self, conn: Any) -> None:
        if not self._lock.acquire(timeout=self.timeout):
            raise exc.OperationalError("BEGIN IMMEDIATE", (), sqlite3.OperationalError("database is locked"))
        self._holder = getattr(conn, "driver_connection", conn)

    def leave(self, conn: Any) -> None:
        """Give the gate back if ``conn`` (the pool's proxy or the driver's connection) has it."""
        if self._holder is not None and self._holder is getattr(conn, "driver_connection", conn):
            self._holder = None
            self._lock.release()


def make_engine(url: str, *, writer_timeout: float = 10.0, **kw: Any) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10},
                               pool_size=8, max_overflow=16, **kw)
        event.listen(engine, "connect", _sqlite_pragmas)
        # The driver's own transaction handling is switched off; BEGIN is ours. Writers take
        # the write lock at BEGIN (``immediate``), so two writers never deadlock on upgrade.
        gate = WriterGate(engine, writer_timeout)

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            if conn.get_execution_options().get("immediate", False):
                gate.enter(conn.connection)
                try:
                    sqlite_begin(conn, "BEGIN IMMEDIATE")
                except BaseException:
                    gate.leave(conn.connection)
                    raise
            else:
                sqlite_begin(conn, "BEGIN")

        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_conn: Any, _r: Any) -> None:
            dbapi_conn.isolation_level = None

        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **kw)


class Database:
    """The engine plus a session factory; one per process."""

    def __init__(self, url: str, *, writer_timeout: float = 10.0) -> None:
        self.url = url
        self.engine = make_engine(url, writer_timeout=writer_timeout)
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
