#!/usr/bin/env python3
"""Distributed-shape benchmark (issue 7, DESIGN §1 and §12): the five-node workflow through real
`datacollect api`, `datacollect worker` and `datacollect scheduler` processes on PostgreSQL and
Redis, with 1, 2 and 4 worker processes.

For each worker count it makes a fresh PostgreSQL schema and an empty Redis database, runs
`datacollect db upgrade`, starts the API, one `datacollect worker --concurrency N` (N pool
processes, each running one activation at a time) and the scheduler, saves the workflow through
the API, and loads its webhook for a fixed time after a warm-up:

  WebhookTrigger (answers with the last node) → DataValidator → Conditional → DataMapper →
  DatabaseWrite (insert into a table of the same schema)

Every call waits for its run: the API hands the run to a worker through Redis and hears that it
settled through Redis too, so the latency is end to end through the queue. It prints, per case,
runs/s (calls answered 200 per second), p50/p99 latency, errors, the CPU our processes used per
run (api, worker with its pool, scheduler: a figure other work on the machine disturbs less than
runs/s), and what it finds afterwards (runs by status, rows in the target table), then a
markdown table with the machine and its load average before each case. It prints
figures; it never passes or fails on time. The load generator is Python (asyncio + httpx) on the
same machine, so it takes CPU from the processes it measures.

    .venv/bin/python bench/distributed.py                          # 1, 2 and 4 workers, 10 s each
    .venv/bin/python bench/distributed.py --workers 2 --duration 5 --clients 32
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform as pyplatform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from benchlib import cpu_model, free_port, memory_gb, pct
from sqlalchemy import create_engine, text

ADMIN = {"username": "bench@example.com", "password": "bench-password-0123"}
TABLE = "bench_figures"


def workflow(connection: str) -> dict[str, Any]:
    return {
        "id": "bench-distributed", "name": "Bench: distributed five-node",
        "nodes": [
            {"id": "webhook", "type": "WebhookTrigger",
             "config": {"endpoint_path": "bench/distributed", "respond": "last_node"}},
            {"id": "validate", "type": "DataValidator", "config": {"rules": [
                {"type": "required_fields", "fields": ["supplier_id", "co2_t", "period"]},
                {"type": "range", "field": "co2_t", "min": 0, "max": 1_000_000}]}},
            {"id": "branch", "type": "Conditional", "config": {"condition": "validate.score > 0.8"}},
            {"id": "map", "type": "DataMapper", "config": {"mapping_rules": [
                {"from": "supplier_id", "to": "supplier_id", "type": "string"},
                {"from": "period", "to": "period", "type": "string"},
                {"from": "co2_t", "to": "co2_t", "type": "number"},
                {"to": "co2_kg", "value": "{{ item.co2_t * 1000 }}"}]}},
            {"id": "store", "type": "DatabaseWrite", "config": {
                "connection": connection, "table": TABLE, "operation": "insert", "create_table": True}},
        ],
        "edges": [{"from": "webhook", "to": "validate"}, {"from": "validate", "to": "branch"},
                  {"from": "branch", "to": "map", "condition": "true"}, {"from": "map", "to": "store"}],
    }


# -- the machine ------------------------------------------------------------------------------
def versions(pg_base: str, redis_url: str) -> str:
    out = [f"Python {pyplatform.python_version()}"]
    with contextlib.suppress(Exception):
        e = create_engine(pg_base)
        with e.connect() as c:
            out.append("PostgreSQL " + str(c.execute(text("SHOW server_version")).scalar()).split()[0])
        e.dispose()
    with contextlib.suppress(Exception):
        import redis

        out.append("Redis " + str(redis.Redis.from_url(redis_url).info("server")["redis_version"]))
    return ", ".join(out)


def machine(pg_base: str, redis_url: str) -> str:
    return (f"{cpu_model()}, {os.cpu_count()} cores, {memory_gb():.1f} GB RAM, {pyplatform.system()} "
            f"{pyplatform.release()}; {versions(pg_base, redis_url)}")


def session_cpu(sid: int) -> float:
    """CPU seconds used so far by the live processes of a session (a started process and its pool)."""
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid:  # field 6 of stat: the session id
                total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


# -- one case -----------------------------------------------------------------------------------
@dataclass
class Result:
    workers: int
    ok: int = 0
    errors: int = 0
    seconds: float = 0.0
    p50: float = 0.0
    p90: float = 0.0
    p99: float = 0.0
    runs: dict[str, int] | None = None
    rows: int = 0
    problem: str = ""
    load_before: float = 0.0
    cpu: dict[str, float] | None = None  # CPU seconds per process during the measured load

    def cpu_ms_per_run(self) -> float:
        return sum((self.cpu or {}).values()) * 1000 / self.ok if self.ok else 0.0

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


class Processes:
    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.work = work
        self.env = env
        self.procs: list[subprocess.Popen[bytes]] = []
        self.names: list[str] = []
        self.measured: dict[str, float] = {}

    def cpu(self) -> dict[str, float]:
        return {n: session_cpu(p.pid) for n, p in zip(self.names, self.procs, strict=True)}

    def run(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "datacollect.cli", *args], env=self.env, check=True,
                       capture_output=True, timeout=180)

    def start(self, name: str, *args: str) -> None:
        log = open(self.work / f"{name}.log", "ab")
        self.names.append(name)
        self.procs.append(subprocess.Popen([sys.executable, "-m", "datacollect.cli", *args], env=self.env,
                                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True))

    def stop(self) -> None:
        for p in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)


async def load(url: str, clients: int, warmup: float, duration: float,
               procs: Processes) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    measuring = False
    stop_at = time.monotonic() + warmup + duration
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        async def client(k: int) -> None:
            nonlocal errors
            n = 0
            while time.monotonic() < stop_at:
                n += 1
                body = {"supplier_id": f"S-{k}-{n}", "co2_t": n + 0.5, "period": "2025-Q3"}
                t0 = time.perf_counter()
                try:
                    r = await http.post("/webhook/bench/distributed", json=body)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if measuring:
                    if ok:
                        latencies.append((time.perf_counter() - t0) * 1000)
                    else:
                        errors += 1

        tasks = [asyncio.create_task(client(k)) for k in range(clients)]
        await asyncio.sleep(warmup)
        measuring = True
        t_start = time.monotonic()
        cpu0 = procs.cpu()
        await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
        cpu1 = procs.cpu()
        procs.measured = {n: cpu1[n] - cpu0.get(n, 0.0) for n in cpu1}
        await asyncio.gather(*tasks)
        return latencies, errors, time.monotonic() - t_start


def wait_quiet(limit: float, seconds: float) -> float:
    """Wait (at most ``seconds``) for the 1-minute load average to fall under ``limit``; answers it."""
    deadline = time.monotonic() + seconds
    while os.getloadavg()[0] >= limit and time.monotonic() < deadline:
        time.sleep(5)
    return os.getloadavg()[0]


def run_case(workers: int, args: argparse.Namespace) -> Result:
    res = Result(workers)
    res.load_before = wait_quiet(args.quiet_below, args.wait_quiet)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    db_url = f"{args.pg_url}?options=-csearch_path%3D{schema}"
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()
    work = Path(tempfile.mkdtemp(prefix=f"bench-distributed-{workers}-"))
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DATACOLLECT_")},
           "DATACOLLECT_DATA_DIR": str(work), "DATACOLLECT_DATABASE_URL": db_url,
           "DATACOLLECT_REDIS_URL": args.redis_url, "DATACOLLECT_ADMIN_EMAIL": ADMIN["username"],
           "DATACOLLECT_ADMIN_PASSWORD": ADMIN["password"],
           "DATACOLLECT_SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
           "DATACOLLECT_WEBHOOK_WAIT_TIMEOUT": "30"}
    procs = Processes(work, env)
    try:
        procs.run("db", "upgrade")
        procs.start("api", "api", "--port", str(port))
        procs.start("worker", "worker", f"--concurrency={workers}", "--loglevel=WARNING")
        procs.start("scheduler", "scheduler")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not start: " + (work / "api.log").read_text()[-2000:])
            time.sleep(0.2)
        http = httpx.Client(base_url=url, timeout=30)
        login = http.post("/api/auth/token", data=ADMIN)
        if login.status_code != 200:
            raise RuntimeError(f"could not log in: {login.status_code} {login.text[:300]}")
        token = login.json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        r = http.post("/api/workflows", json=workflow(db_url), headers=h)
        r.raise_for_status()
        first = http.post("/webhook/bench/distributed", json={"supplier_id": "S-0", "co2_t": 1.5, "period": "2025-Q3"})
        if first.status_code != 200 or first.json()[0].get("_write", {}).get("status") != "inserted":
            res.problem = f"first call answered {first.status_code}: {first.text[:200]}"
            return res
        lat, res.errors, res.seconds = asyncio.run(load(url, args.clients, args.warmup, args.duration, procs))
        res.cpu = procs.measured
        res.ok = len(lat)
        res.p50, res.p90, res.p99 = pct(lat, 0.5), pct(lat, 0.9), pct(lat, 0.99)
        time.sleep(2)  # calls in flight when the load stopped still complete
        with admin.connect() as c:
            c.execute(text(f'SET search_path TO "{schema}"'))
            res.runs = dict(c.execute(text("SELECT status, count(*) FROM runs GROUP BY status")).all())
            res.rows = int(c.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar() or 0)
        if res.runs.get("completed", 0) != res.rows or set(res.runs) - {"completed"}:
            res.problem = f"runs {res.runs} but {res.rows} rows"
        return res
    finally:
        procs.stop()
        with admin.connect() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", default="1,2,4", help="worker process counts, comma-separated")
    ap.add_argument("--clients", type=int, default=32, help="concurrent closed-loop clients")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds measured per case")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring")
    ap.add_argument("--wait-quiet", type=float, default=0.0,
                    help="seconds to wait, before each case, for the machine's load average to fall")
    ap.add_argument("--quiet-below", type=float, default=1.0, help="the load average that counts as quiet")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    args = ap.parse_args()
    if not args.pg_url.startswith("postgresql+psycopg://"):
        args.pg_url = "postgresql+psycopg://" + args.pg_url.split("://", 1)[1]
    where = machine(args.pg_url, args.redis_url)
    print(f"machine: {where}")
    print(f"load: {args.clients} clients, {args.warmup:.0f} s warm-up, {args.duration:.0f} s measured; "
          "generator, API, worker, scheduler, PostgreSQL and Redis share this machine\n")
    results = []
    for n in [int(x) for x in args.workers.split(",")]:
        r = run_case(n, args)
        results.append(r)
        print(f"{n} worker process(es): {r.rate:.0f} runs/s, p50 {r.p50:.1f} ms, p90 {r.p90:.1f} ms, "
              f"p99 {r.p99:.1f} ms, errors {r.errors}; runs {r.runs}, rows {r.rows}; "
              f"load average before: {r.load_before:.1f}; CPU per run: {r.cpu_ms_per_run():.1f} ms "
              f"({', '.join(f'{n} {v:.1f} s' for n, v in (r.cpu or {}).items())})"
              + (f"  PROBLEM: {r.problem}" if r.problem else ""), flush=True)
    print("\n| worker processes | runs/s | p50 ms | p99 ms | errors | CPU ms per run (api+worker+scheduler) "
          "| load avg before | check |\n|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r.workers} | {r.rate:.0f} | {r.p50:.1f} | {r.p99:.1f} | {r.errors} | {r.cpu_ms_per_run():.1f} | "
              f"{r.load_before:.1f} | "
              f"{r.problem or 'every run completed, one row each'} |")
    print(f"\nMachine: {where}.")


if __name__ == "__main__":
    main()
