"""Waits survive a restart: a run waiting on a timer and one waiting on a webhook call are
resumed by a new process after the old one was killed (kill -9), with real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.engine.helpers import node, wf

ADMIN = {"username": "admin@example.com", "password": "restart-password"}


class Server:
    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        env = {**os.environ, "DATACOLLECT_DATA_DIR": str(self.data_dir), "DATACOLLECT_PORT": str(self.port),
               "DATACOLLECT_ADMIN_EMAIL": ADMIN["username"], "DATACOLLECT_ADMIN_PASSWORD": ADMIN["password"],
               "DATACOLLECT_SCHEDULER_INTERVAL": "0.1"}
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
        raise RuntimeError("the server did not start: " + (self.data_dir / "server.log").read_text()[-2000:])

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path, free_port())
    s.start()
    try:
        yield s
    finally:
        s.stop()


def test_timer_and_webhook_waits_resume_after_the_process_is_killed_and_restarted(server: Server) -> None:
    c = httpx.Client(base_url=server.url, timeout=10)
    token = c.post("/api/auth/token", data=ADMIN).json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    timer = wf("timer", [node("start", "ManualTrigger"), node("pause", "Wait", duration=3),
                         node("calc", "Calculator", formula="item.x + 1", output_field="y")],
               [("start", "pause"), ("pause", "calc")])
    hook = wf("hook", [node("start", "ManualTrigger"),
                       node("pause", "Wait", continue_condition="webhook", duration="30d"),
                       node("calc", "Calculator", formula="item.webhook.answer", output_field="y")],
              [("start", "pause"), ("pause", "calc")])
    for d in (timer, hook):
        assert c.post("/api/workflows", json=d, headers=h).status_code == 201
    t_run = c.post("/api/workflows/timer/run", json={"data": {"x": 1}}, headers=h).json()
    w_run = c.post("/api/workflows/hook/run", json={"data": {"x": 2}}, headers=h).json()
    assert t_run["status"] == "waiting" and w_run["status"] == "waiting"

    server.kill()
    server.start()
    c = httpx.Client(base_url=server.url, timeout=10)
    token = c.post("/api/auth/token", data=ADMIN).json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}

    r = c.post(f"/webhook-waiting/{w_run['id']}", json={"answer": 42})
    assert r.status_code == 200 and r.json()["status"] == "completed"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        run = c.get(f"/api/runs/{t_run['id']}", headers=h).json()
        if run["status"] == "completed":
            break
        time.sleep(0.2)
    assert run["status"] == "completed"
    calc = next(a for a in run["activations"] if a["node_id"] == "calc")
    assert calc["output"]["main"] == [{"x": 1, "y": 2}]
    hook_run = c.get(f"/api/runs/{w_run['id']}", headers=h).json()
    calc = next(a for a in hook_run["activations"] if a["node_id"] == "calc")
    assert calc["output"]["main"][0]["y"] == 42
