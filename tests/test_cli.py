"""The command line: db upgrade, users create, workflows validate/import/export, run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from datacollect.cli import app
from datacollect.config import get_settings
from tests.engine.helpers import node, wf

runner = CliRunner()
FLOW = wf("cli-flow", [node("start", "ManualTrigger"),
                       node("calc", "Calculator", formula="item.a * 3", output_field="b")], [("start", "calc")])


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATACOLLECT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATACOLLECT_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_db_upgrade_creates_the_database_in_the_data_folder(data_dir: Path) -> None:
    r = runner.invoke(app, ["db", "upgrade"])
    assert r.exit_code == 0, r.output
    assert (data_dir / "datacollect.db").exists()


def test_users_create_makes_the_first_admin_and_refuses_a_short_password() -> None:
    r = runner.invoke(app, ["users", "create", "--email", "boss@example.com", "--password", "long-enough-pw",
                            "--role", "admin"])
    assert r.exit_code == 0 and "boss@example.com (admin)" in r.output
    r = runner.invoke(app, ["users", "create", "--email", "x@example.com", "--password", "short"])
    assert r.exit_code == 1 and "at least 8 characters" in r.output


def test_workflows_validate_lists_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(wf("bad", [node("start", "ManualTrigger"), node("x", "Nope")], [("start", "x")])))
    r = runner.invoke(app, ["workflows", "validate", str(bad)])
    assert r.exit_code == 1 and "Unknown node type 'Nope'" in r.output
    good = tmp_path / "good.json"
    good.write_text(json.dumps(FLOW))
    r = runner.invoke(app, ["workflows", "validate", str(good)])
    assert r.exit_code == 0 and "2 nodes" in r.output


def test_import_export_round_trip_and_run_shows_a_table_of_nodes(tmp_path: Path) -> None:
    f = tmp_path / "flow.yaml"
    import yaml

    f.write_text(yaml.safe_dump(FLOW))
    r = runner.invoke(app, ["workflows", "import", str(f)])
    assert r.exit_code == 0 and "version 1" in r.output
    r = runner.invoke(app, ["workflows", "import", str(f)])
    assert "version 2" in r.output
    r = runner.invoke(app, ["workflows", "export", "cli-flow"])
    assert r.exit_code == 0 and json.loads(r.output)["nodes"][1]["config"]["formula"] == "item.a * 3"
    r = runner.invoke(app, ["run", "cli-flow", "--data", '{"a": 2}'])
    assert r.exit_code == 0, r.output
    assert "completed" in r.output and "calc" in r.output
    r = runner.invoke(app, ["run", "cli-flow", "--data", "{nope"])
    assert r.exit_code == 1 and "not valid JSON" in r.output
    r = runner.invoke(app, ["run", "missing-flow"])
    assert r.exit_code == 1 and "does not exist" in r.output
