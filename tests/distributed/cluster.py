"""Real processes of the distributed shape for tests: `datacollect api`, `worker` and `scheduler`
started as subprocesses against the PostgreSQL and Redis of this machine, each test in a
schema and a Redis database of its own.

The servers are shared with other tests, and some tests here restart them: those hold an
exclusive lock on ``LOCK`` while they do; every other test that uses the servers holds a shared
lock (``services(shared=True)``), so a restart never hits another test's work.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

PG_HOST = "127.0.0.1"
PG_BASE = f"postgresql+psycopg://postgres@{PG_HOST}:5432/test"
REDIS_PORT = 6379
LOCK = Path("/tmp/datacollect-test-services.lock")
FIVE_NODE_TABLE = "supplier_figures"


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_port(port: int, up: bool = True, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port) == up:
            return
        time.sleep(0.1)
    raise TimeoutError(f"port {port} is still {'down' if up else 'up'} after {timeout:.0f} s")


def pg_cluster() -> str:
    return sorted(os.listdir("/etc/postgresql"))[0]


def pg_ctl(action: str) -> None:
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", pg_cluster(), "main", action],
                   check=True, capture_output=True, timeout=60)


def start_postgres() -> None:
    if not port_open(5432):
        pg_ctl("start")
        wait_port(5432)


def start_redis() -> None:
    if not port_open(REDIS_PORT):
        subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port",
                        str(REDIS_PORT), "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
                        "--logfile", "/var/log/redis/ci.log"], check=True, capture_output=True, timeout=30)
        wait_port(REDIS_PORT)


def stop_redis() -> None:
    subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "shutdown", "nosave"], capture_output=True, timeout=30)
    wait_port(REDIS_PORT, up=False)


@contextlib.contextmanager
def services(shared: bool = True) -> Iterator[None]:
    """Hold the servers: shared (use them) or exclusive (restart them). Starts them when down."""
    with open(LOCK, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            start_postgres()
            start_redis()
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class PgSchema:
    """A schema of its own in the ``test`` database."""

    def __init__(self) -> None:
        self.name = f"d_{uuid.uuid4().hex[:12]}"
        self.url = f"{PG_BASE}?options=-csearch_path%3D{self.name}"
        self.admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        with self.admin.connect() as c:
            c.execute(text(f'CREATE SCHEMA "{self.name}"'))

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.admin.connect() as c:
            c.execute(text(f'SET search_path TO "{self.name}"'))
            return c.execute(text(sql), params).scalar()

    def execute(self, sql: str, **params: Any) -> None:
        with self.admin.connect() as c:
            c.execute(text(f'SET search_path TO "{self.name}"'))
            c.execute(text(sql), params)

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.admin.connect() as c:
            c.execute(text(f'SET search_path TO "{self.name}"'))
            return list(c.execute(text(sql), params))

    def drop(self) -> None:
        for _ in range(30):
            try:
                with self.admin.connect() as c:
                    c.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
                break
            except Exception:
                time.sleep(1)
        self.admin.dispose()


def redis_db_url() -> str:
    """A Redis database of this test process's own (8 + the xdist worker number), emptied."""
    import redis

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    db = 8 + int(worker.removeprefix("gw") or 0) % 8
    url = f"redis://127.0.0.1:{REDIS_PORT}/{db}"
    redis.Redis.from_url(url).flushdb()
    return url


def five_node_workflow(target_url: str, trigger: str = "WebhookTrigger", path: str = "figures") -> dict[str, Any]:
    """Trigger → DataValidator → Conditional → DataMapper → DatabaseWrite (the run id in every row)."""
    trig_cfg = {"endpoint_path": path, "respond": "last_node"} if trigger == "WebhookTrigger" else {}
    return {
        "id": "five-node", "name": "Five nodes",
        "nodes": [
            {"id": "start", "type": trigger, "config": trig_cfg},
            {"id": "validate", "type": "DataValidator", "config": {"rules": [
                {"type": "required_fields", "fields": ["supplier_id", "co2_t"]},
                {"type": "range", "field": "co2_t", "min": 0, "max": 1_000_000}]}},
            {"id": "branch", "type": "Conditional", "config": {"condition": "validate.score > 0.8"}},
            {"id": "map", "type": "DataMapper", "config": {"mapping_rules": [
                {"from": "supplier_id", "to": "supplier_id", "type": "string"},
                {"from": "co2_t", "to": "co2_t", "type": "number"},
                {"to": "co2_kg", "value": "{{ item.co2_t * 1000 }}"},
                {"to": "run_id", "value": "{{ run.id }}"}]}},
            {"id": "store", "type": "DatabaseWrite", "config": {
                "connection": target_url, "table": FIVE_NODE_TABLE, "operation": "insert"}},
        ],
        "edges": [{"from": "start", "to": "validate"}, {"from": "validate", "to": "branch"},
                  {"from": "branch", "to": "map", "condition": "true"}, {"from": "map", "to": "store"}],
    }


class Cluster:
    """The distributed shape's processes for one test."""

    def __init__(self, work: Path, db_url: str, redis_url: str, **env: str) -> None:
        self.work = work
        self.db_url = db_url
        self.redis_url = redis_url
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("DATACOLLECT_")},
                    "DATACOLLECT_ENV": "test", "DATACOLLECT_DATA_DIR": str(work),
                    "DATACOLLECT_DATABASE_URL": db_url, "DATACOLLECT_REDIS_URL": redis_url,
                    "DATACOLLECT_SECRET_KEY": "distributed-test-secret-key-0123456789abcdef",
                    "DATACOLLECT_SCHEDULER_INTERVAL": "0.1", **env}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.api_url: str | None = None

    def settings(self, **kw: Any) -> Any:
        import json

        from datacollect.config import Settings

        values = {k.removeprefix("DATACOLLECT_").lower(): json.loads(v) if v.startswith(("{", "[")) else v
                  for k, v in self.env.items() if k.startswith("DATACOLLECT_")}
        values.update(kw)
        return Settings(**values)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "datacollect.cli", *args], env=self.env, text=True,
                              capture_output=True, timeout=timeout, check=True)

    def start(self, name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        log = open(self.work / f"{name}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "datacollect.cli", *args], env={**self.env, **env},
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def worker(self, name: str, concurrency: int = 2, *extra: str, **env: str) -> subprocess.Popen[bytes]:
        proc = self.start(name, "worker", f"--concurrency={concurrency}", f"--name={name}@%h",
                          f"--heartbeat-file={self.work / (name + '.alive')}", *extra, **env)
        self.wait_for(lambda: (self.work / (name + ".alive")).exists(), 60, f"worker {name} did not start", name)
        return proc

    def scheduler(self, name: str = "scheduler") -> subprocess.Popen[bytes]:
        proc = self.start(name, "scheduler", f"--heartbeat-file={self.work / (name + '.alive')}")
        self.wait_for(lambda: (self.work / (name + ".alive")).exists(), 60, f"{name} did not start", name)
        return proc

    def api(self, port: int) -> str:
        self.start("api", "api", f"--port={port}")
        self.api_url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return httpx.get(f"{self.api_url}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        self.wait_for(ready, 60, "the API did not start", "api")
        return self.api_url

    def wait_for(self, ok: Any, timeout: float, message: str, name: str | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ok():
                return
            if name and self.procs[name].poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(message + (": " + self.log(name)[-3000:] if name else ""))

    def dead(self) -> dict[str, str]:
        """The processes that stopped, with the end of their log (what to read when one died)."""
        return {n: self.log(n)[-3000:] for n, p in self.procs.items() if p.poll() is not None}

    def log(self, name: str | None) -> str:
        p = self.work / f"{name}.log"
        return p.read_text(errors="replace") if name and p.exists() else ""

    def kill(self, name: str) -> None:
        """kill -9 of the process and every process it started (its pool)."""
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self, name: str, timeout: float = 20) -> None:
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def close(self) -> None:
        for name in list(self.procs):
            self.stop(name, timeout=10)


class CountingServer:
    """An HTTP endpoint that answers after ``delay`` seconds and counts calls per Idempotency-Key."""

    def __init__(self, delay: float = 0.0) -> None:
        import threading
        from collections import Counter
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        counts: Counter[str] = Counter()
        lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        me = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    me.in_flight += 1
                    me.most_in_flight = max(me.most_in_flight, me.in_flight)
                time.sleep(delay)
                with lock:
                    me.in_flight -= 1
                    counts[self.headers.get("Idempotency-Key") or ""] += 1
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.counts = counts
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/figures"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def export_workflow(target_url: str, endpoint: str) -> dict[str, Any]:
    """The five-node workflow with a call to an outside API before the write (manual trigger)."""
    wf = five_node_workflow(target_url, trigger="ManualTrigger")
    wf["id"] = "export"
    wf["nodes"].insert(4, {"id": "call", "type": "APICall", "config": {
        "endpoint": endpoint, "method": "POST", "body_mapping": {"run": "{{ run.id }}"}}})
    wf["edges"][-1] = {"from": "map", "to": "call"}
    wf["edges"].append({"from": "call", "to": "store"})
    return wf


def run_counts(pg: PgSchema, workflow_id: str) -> dict[str, int]:
    return {s: n for s, n in pg.rows("SELECT status, count(*) FROM runs WHERE workflow_id = :w GROUP BY status",
                                     w=workflow_id)}


def wait_runs(pg: PgSchema, workflow_id: str, total: int, timeout: float) -> dict[str, int]:
    """Wait until ``total`` runs of the workflow have settled; answers runs per status."""
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        try:
            counts = run_counts(pg, workflow_id)
        except Exception:  # the database is restarting
            time.sleep(0.5)
            continue
        if sum(n for s, n in counts.items() if s in ("completed", "failed", "cancelled")) >= total:
            return counts
        time.sleep(0.25)
    return counts
