"""Exactly once across a crash, with real processes: the platform (``datacollect up``) is
killed with SIGKILL after SAP committed the $batch and before the answer reached the export
step, then started again. The step is taken again when its lease expires, finds its records in
SAP by their references, and the run completes with one document per item."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from datacollect.integrations.crypto import generate_key
from tests.conftest import free_port
from tests.integrations.fake_sap import ENTITY, PASSWORD, SERVICE, USER, FakeSap
from tests.integrations.servers import serve

ADMIN = {"username": "admin@example.com", "password": "kill-test-password"}


class Platform:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.key = generate_key()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "DATACOLLECT_DATA_DIR": str(self.data_dir), "DATACOLLECT_PORT": str(self.port),
               "DATACOLLECT_ADMIN_EMAIL": ADMIN["username"], "DATACOLLECT_ADMIN_PASSWORD": ADMIN["password"],
               "DATACOLLECT_SCHEDULER_INTERVAL": "0.1", "DATACOLLECT_LEASE_SECONDS": "2",
               "DATACOLLECT_SECRETS_KEY": self.key}
        env.pop("DATACOLLECT_DATABASE_URL", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "datacollect.cli", "up"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=open(self.data_dir / "server.log", "ab"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the platform did not start: " + (self.data_dir / "server.log").read_text()[-2000:])

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def client(self) -> httpx.Client:
        c = httpx.Client(base_url=self.url, timeout=15)
        token = c.post("/api/auth/token", data=ADMIN).json()["access_token"]
        c.headers["Authorization"] = f"Bearer {token}"
        return c


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = Platform(tmp_path)
    p.start()
    try:
        yield p
    finally:
        p.stop()


def test_an_export_killed_after_sap_committed_is_finished_by_the_next_process_with_one_document(
        platform: Platform) -> None:
    fake = FakeSap()
    with serve(fake) as sap:
        c = platform.client()
        assert c.post("/api/connections", json={"id": "sap-prod", "name": "SAP", "kind": "sap", "config": {
            "base_url": sap.url, "service_path": SERVICE, "username": USER, "password": PASSWORD,
            "entity_set": ENTITY}}).status_code == 201
        assert c.put("/api/mappings/carbon_to_sap_v2", json={"definition": {"mapping_rules": [
            {"from": "supplier_id", "to": "SupplierId"}, {"from": "co2", "to": "Co2Tonnes", "type": "number"}]}}
        ).status_code == 200
        workflow = {"id": "export", "name": "export", "nodes": [
            {"id": "start", "type": "ManualTrigger"},
            {"id": "sap_export", "type": "ERPExport", "config": {"system": "SAP", "mapping": "carbon_to_sap_v2",
                                                                 "timeout": 1, "retry_backoff": 0},
             "retry": {"max_attempts": 10, "backoff_seconds": 0.5, "backoff_factor": 1}}],
            "edges": [{"from": "start", "to": "sap_export"}]}
        assert c.post("/api/workflows", json=workflow).status_code == 201

        def crash() -> None:  # SAP has committed; the platform dies before it hears so
            fake.on_commit = None
            platform.kill()

        fake.on_commit = crash
        items = [{"supplier_id": f"S-{n}", "co2": n * 1.5} for n in range(1, 5)]
        r = c.post("/api/workflows/export/run", json={"data": items, "wait": False})
        assert r.status_code in (200, 202), r.text
        run_id = r.json()["id"]
        assert platform.proc is not None
        platform.proc.wait(15)  # killed by the fake SAP
        assert len(fake.records) == 4

        platform.start()
        c = platform.client()
        deadline = time.monotonic() + 40
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:
            run = c.get(f"/api/runs/{run_id}").json()
            if run["status"] in ("completed", "failed"):
                break
            time.sleep(0.2)
        assert run["status"] == "completed", run.get("error")
        export = next(a for a in run["activations"] if a["node_id"] == "sap_export")
        assert export["attempts"] >= 2
        assert [i["_export"]["status"] for i in export["output"]["main"]] == ["already_exported"] * 4
        assert sorted(i["_export"]["key"] for i in export["output"]["main"]) == sorted(fake.records)
    assert fake.batches == 1
    assert len(fake.records) == 4
    assert sorted(r["SupplierId"] for r in fake.records.values()) == ["S-1", "S-2", "S-3", "S-4"]
