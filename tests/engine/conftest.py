from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from datacollect.config import Settings
from datacollect.nodes.builtin import NODES
from datacollect.nodes.registry import NodeRegistry
from tests.engine.helpers import TEST_NODES


@pytest.fixture
def registry() -> NodeRegistry:
    return NodeRegistry([*NODES, *TEST_NODES])


@pytest.fixture
async def platform(settings: Settings, registry: NodeRegistry) -> AsyncIterator[Any]:
    from datacollect.platform import Platform

    p = Platform.create(settings, registry=registry)
    await p.start(scheduler=False)
    try:
        yield p
    finally:
        await p.stop()
