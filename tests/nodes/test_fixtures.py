"""Every workflow fixture in tests/nodes/fixtures/<Type>/ runs through the real engine and
its terminal nodes give exactly the expected items (the fixtures are the nodes' spec)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.helpers import run_row, save

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*/*.json"))


@pytest.fixture
def db_url() -> None:
    return None  # the fixtures run on SQLite; the engine's own tests cover PostgreSQL


@pytest.mark.parametrize("path", FIXTURES, ids=[f"{p.parent.name}/{p.stem}" for p in FIXTURES])
async def test_fixture_workflow_gives_the_expected_items(path: Path, platform) -> None:
    spec = json.loads(path.read_text())
    save(platform, spec["workflow"])
    data = spec.get("input") or {}
    items = data["items"] if isinstance(data, dict) and set(data) == {"items"} else [data]
    run_id = await platform.runner.start_run(spec["workflow"]["id"], items)
    run = run_row(platform, run_id)
    assert run["status"] in ("completed", "waiting"), run["error"]
    for node_id, ports in spec["expected"].items():
        act = run["acts"].get((node_id, "0"))
        assert act is not None, f"{node_id} did not run"
        output = act["output"] or {}
        for port, expected in ports.items():
            assert output.get(port, []) == expected, f"{node_id}.{port}"
