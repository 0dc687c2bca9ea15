"""The deployment files (deploy/) cannot be run here (no container engine), so this checks what
can go wrong without one: they parse, every `datacollect` command they run exists with the
options they give it, and every DATACOLLECT_* variable they set is a setting."""

from __future__ import annotations

import os
import re
import shlex
import time
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from datacollect.cli import app
from datacollect.config import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
SETTINGS = {f"DATACOLLECT_{name.upper()}" for name in Settings.model_fields}


def parse_cli(argv: list[str]) -> tuple[str, dict[str, Any]]:
    """Parse ``datacollect <argv>`` as the CLI would; raises a UsageError when it would refuse."""
    cmd: Any = typer.main.get_command(app)
    ctx = cmd.make_context("datacollect", list(argv))
    while hasattr(cmd, "resolve_command"):  # a group (typer's own click)
        args = [*getattr(ctx, "_protected_args", []), *ctx.args] if hasattr(ctx, "_protected_args") \
            else [*ctx.protected_args, *ctx.args]
        name, sub, rest = cmd.resolve_command(ctx, args)
        assert sub is not None, f"no command {name}"
        cmd = sub
        ctx = cmd.make_context(name, rest, parent=ctx)
    return ctx.command_path, ctx.params


def _commands_in(value: Any, entry: bool) -> list[list[str]]:
    """`datacollect ...` command lines in a compose/k8s value (``entry``: the image's entry point
    is datacollect, so a bare argument list is one)."""
    if isinstance(value, str):
        value = shlex.split(value)
    if not isinstance(value, list) or not value:
        return []
    if value[0] == "datacollect":
        return [value[1:]]
    if value[0] in ("CMD", "CMD-SHELL"):
        return _commands_in(value[1:] if value[0] == "CMD" else value[1], entry=False)
    return [value] if entry else []


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def _manifests() -> list[dict[str, Any]]:
    docs = []
    for f in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(f.read_text()) if d]
    return docs


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", {}) if "template" in spec else spec.get("jobTemplate", {})
    return [*pod.get("containers", []), *pod.get("initContainers", [])]


def _ours(image: str | None) -> bool:
    return bool(image) and image.split(":")[0].split("/")[-1] == "datacollect"


def test_compose_runs_the_distributed_shape_with_commands_and_settings_that_exist() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "minio", "api", "worker", "scheduler", "ui"} <= set(services)
    assert services["worker"]["deploy"]["replicas"] == 3
    for name, svc in services.items():
        mine = "build" in svc or _ours(svc.get("image"))
        for argv in _commands_in(svc.get("command"), entry=mine) + _commands_in(
                (svc.get("healthcheck") or {}).get("test"), entry=False):
            parse_cli(argv)
        env = svc.get("environment") or {}
        names = env if isinstance(env, dict) else [e.split("=")[0] for e in env]
        unknown = {n for n in names if n.startswith("DATACOLLECT_")} - SETTINGS
        assert not unknown, f"{name} sets {unknown}, which are not settings"
    assert parse_cli(_commands_in(services["worker"]["command"], True)[0])[0] == "datacollect worker"
    assert parse_cli(_commands_in(services["scheduler"]["command"], True)[0])[0] == "datacollect scheduler"
    assert parse_cli(_commands_in(services["api"]["command"], True)[0])[0] == "datacollect api"
    assert parse_cli(_commands_in(services["migrate"]["command"], True)[0])[0] == "datacollect db upgrade"


def test_kubernetes_manifests_have_probes_and_name_only_commands_and_settings_that_exist() -> None:
    docs = _manifests()
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for name in ("datacollect-api", "datacollect-worker", "datacollect-scheduler"):
        assert ("Deployment", name) in kinds
    assert ("Job", "datacollect-migrate") in kinds
    seen = set()
    for d in docs:
        if d["kind"] in ("ConfigMap", "Secret"):
            keys = set(d.get("data") or {}) | set(d.get("stringData") or {})
            assert keys <= SETTINGS, f"{d['metadata']['name']} names {keys - SETTINGS}"
        for c in _containers(d):
            if not _ours(c.get("image")):
                continue
            path, _ = parse_cli(c.get("args") or [])
            seen.add(path)
            unknown = {e["name"] for e in c.get("env", []) if e["name"].startswith("DATACOLLECT_")} - SETTINGS
            assert not unknown
            for probe in ("livenessProbe", "readinessProbe"):
                command = ((c.get(probe) or {}).get("exec") or {}).get("command")
                if command:
                    assert command[0] == "datacollect"
                    parse_cli(command[1:])
            if d["kind"] == "Deployment":
                assert c.get("livenessProbe"), f"{d['metadata']['name']} has no liveness probe"
    assert {"datacollect api", "datacollect worker", "datacollect scheduler", "datacollect db upgrade"} <= seen


def test_dockerfile_runs_commands_and_sets_settings_that_exist() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r'^ENTRYPOINT \["datacollect"\]$', text, re.M)
    cmd = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert cmd and parse_cli(yaml.safe_load(cmd.group(1)))[0] == "datacollect up"
    for line in re.findall(r"^RUN (.*datacollect .*)$", text, re.M):
        argv = shlex.split(line.split("datacollect ", 1)[1].split(">")[0])
        parse_cli(argv)
    names = set(re.findall(r"\b(DATACOLLECT_[A-Z_]+)=", text))
    assert names and names <= SETTINGS


def test_the_check_itself_refuses_a_command_or_an_option_that_does_not_exist() -> None:
    for wrong in (["wrker"], ["worker", "--concurency", "2"], ["db", "upgrde"]):
        with pytest.raises(Exception) as e:
            parse_cli(wrong)
        assert "UsageError" in [c.__name__ for c in type(e.value).__mro__]
    assert parse_cli(["worker", "--concurrency", "2", "--queues", "slow"])[1]["concurrency"] == 2


def test_probe_tells_a_live_process_from_a_stuck_one(tmp_path: Path) -> None:
    beat = tmp_path / "worker.alive"
    runner = CliRunner()
    assert runner.invoke(app, ["probe", "worker", "--heartbeat-file", str(beat)]).exit_code == 1
    beat.touch()
    assert runner.invoke(app, ["probe", "worker", "--heartbeat-file", str(beat)]).exit_code == 0
    old = time.time() - 120
    os.utime(beat, (old, old))
    result = runner.invoke(app, ["probe", "worker", "--heartbeat-file", str(beat), "--max-age", "60"])
    assert result.exit_code == 1
