"""Plugins: a package's ``datacollect.nodes`` entry points are loaded like built-ins."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from datacollect.nodes.registry import NodeRegistry
from tests.nodes.conftest import make_ctx, make_node

PLUGIN = Path(__file__).resolve().parents[2] / "examples/plugin-example"


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example plugin as pip would install it: its code and a dist-info with entry points."""
    dist = tmp_path / "datacollect_plugin_example-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: datacollect-plugin-example\nVersion: 0.1.0\n")
    text = (PLUGIN / "pyproject.toml").read_text()
    entry = text.split('[project.entry-points."datacollect.nodes"]')[1].strip().splitlines()[0]
    (dist / "entry_points.txt").write_text("[datacollect.nodes]\n" + entry.replace('"', "") + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(PLUGIN / "src"))
    yield
    sys.modules.pop("datacollect_plugin_example", None)


def test_an_installed_plugin_node_is_listed_beside_the_built_ins(installed_plugin: None) -> None:
    reg = NodeRegistry.from_entry_points()
    assert "UnitConverter" in reg.types() and "Calculator" in reg.types()
    assert reg.get("UnitConverter").config_schema()["required"] == ["field", "from_unit", "to_unit"]


async def test_the_plugin_node_runs(installed_plugin: None) -> None:
    cls = NodeRegistry.from_entry_points().get("UnitConverter")
    node = make_node(cls, {"field": "co2", "from_unit": "t", "to_unit": "kg"})
    out = await node.run(make_ctx(), [{"co2": 1.5}])
    assert out == {"main": [{"co2": 1500.0}]}


def test_a_broken_plugin_does_not_stop_the_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "broken_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[datacollect.nodes]\nbroken = no_such_module:Node\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "Calculator" in NodeRegistry.from_entry_points().types()
