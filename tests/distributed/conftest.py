from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.distributed.cluster import Cluster, PgSchema, redis_db_url, services


@pytest.fixture
def shared_services() -> Iterator[None]:
    with services(shared=True):
        yield


@pytest.fixture
def exclusive_services() -> Iterator[None]:
    with services(shared=False):
        yield


def _cluster(tmp_path: Path) -> Iterator[tuple[Cluster, PgSchema]]:
    pg = PgSchema()
    c = Cluster(tmp_path, pg.url, redis_db_url())
    try:
        c.cli("db", "upgrade")
        yield c, pg
    finally:
        c.close()
        pg.drop()


@pytest.fixture
def cluster(shared_services: None, tmp_path: Path) -> Iterator[tuple[Cluster, PgSchema]]:
    yield from _cluster(tmp_path)


@pytest.fixture
def fault_cluster(exclusive_services: None, tmp_path: Path) -> Iterator[tuple[Cluster, PgSchema]]:
    yield from _cluster(tmp_path)


async def client_platform(c: Cluster, **kw: Any) -> Any:
    """A platform in the test process that starts runs the way `datacollect api` does."""
    from datacollect.platform import Platform

    p = Platform.create(c.settings(executor="celery", scheduler=False, **kw), migrate=False)
    await p.start(scheduler=False)
    return p


@pytest.fixture
async def client(cluster: tuple[Cluster, PgSchema]) -> AsyncIterator[Any]:
    p = await client_platform(cluster[0])
    try:
        yield p
    finally:
        await p.stop()
