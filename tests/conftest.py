"""Shared fixtures: a platform on SQLite (a file in a temp folder) and, for tests marked
``postgres``, the same on the PostgreSQL server at 127.0.0.1:5432 (database ``test``), each
test in a schema of its own."""

from __future__ import annotations

import fcntl
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from datacollect.config import Settings

PG_HOST = os.environ.get("DATACOLLECT_TEST_PG_HOST", "127.0.0.1")
PG_BASE = f"postgresql+psycopg://postgres@{PG_HOST}:5432/test"


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SERVICES_LOCK = Path("/tmp/datacollect-test-services.lock")


@pytest.fixture
def services_in_use() -> Iterator[None]:
    """Held (shared) while a test uses the PostgreSQL or Redis server; the tests that restart
    them (tests/distributed) hold it exclusively, so a restart never hits another test."""
    with open(SERVICES_LOCK, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_SH)
        yield


@pytest.fixture
def pg_url(services_in_use: None) -> Iterator[str]:
    if not port_open(5432, PG_HOST):
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432 (make services starts it)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def make_settings(tmp: Path, db_url: str | None = None, **kw: object) -> Settings:
    return Settings(env="test", data_dir=tmp, database_url=db_url, scheduler_interval=0.05,
                    secret_key="test-secret-key-that-is-long-enough-0123456789", **kw)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_url")


@pytest.fixture
def settings(tmp_path: Path, db_url: str | None) -> Settings:
    return make_settings(tmp_path, db_url)


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[object]:
    from datacollect.platform import Platform

    p = Platform.create(settings)
    await p.start(scheduler=False)
    try:
        yield p
    finally:
        await p.stop()


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2 with its production cost takes ~100 ms a hash; tests create many users."""
    from argon2 import PasswordHasher

    from datacollect.security import passwords

    saved = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = saved
