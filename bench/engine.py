#!/usr/bin/env python3
"""Engine benchmark (DESIGN §12): webhook-started runs, end to end and persisted, under load.

It starts the real server (``datacollect up``) on a free loopback port with a fresh data folder,
on SQLite (the embedded shape's default) and/or PostgreSQL (a fresh schema, dropped afterwards),
logs in as the admin it was started with, saves a workflow through the API, and loads its
webhook with a closed-loop load generator for a fixed time after a warm-up:

* ``five-node``: WebhookTrigger (respond with the last node) → DataValidator (required fields,
  range) → Conditional (``validate.score > 0.8``) → DataMapper → DatabaseWrite (insert into a
  table of a SQLite file beside the data, or of the PostgreSQL schema).
* ``n8n``: n8n's own benchmark flow: WebhookTrigger → Conditional (``item.value > 10``) →
  DataMapper (sets a field) → the caller gets the item; every run is persisted.

It prints, per case, runs/s (calls answered 200 per second), p50/p99 latency, errors, the server's
peak RSS, and what it finds after the load: runs in the API by status and rows in the target
table (a benchmark that silently loses runs is worse than a slow one). Then a markdown table with
the machine and the DESIGN §12 targets beside the figures. It prints figures; it never passes or
fails on time.

The load generator is ``wrk`` when it is installed (one thread: the server has the other core),
else a Python generator (asyncio + httpx, one shared connection pool), which costs more CPU on
the same cores and so reads lower; the output says which one ran.

Run it from the repository with the project's virtualenv::

    .venv/bin/python bench/engine.py                              # both databases, both scenarios
    .venv/bin/python bench/engine.py --db sqlite --scenario n8n --duration 5
    .venv/bin/python bench/engine.py --profile                    # + where the server spends its time (py-spy)

PostgreSQL is reached at ``--pg-url`` (default ``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform as pyplatform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from benchlib import Server, cpu_model, cpu_seconds, log, machine_busy_seconds, nproc

ADMIN_EMAIL = "bench@example.com"
ADMIN_PASSWORD = "bench-password-1"
TABLE = "bench_emissions"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"

TARGETS = {  # DESIGN §12, one 2-core machine, 50 concurrent clients
    "five-node": {"runs": 1000, "p50": 10.0, "p99": 50.0},
    "n8n": {"runs": 2000, "p50": None, "p99": 50.0},
}


def five_node_workflow(connection: str) -> dict[str, Any]:
    return {
        "id": "bench-five-node", "name": "Bench: five-node",
        "description": "webhook → validate → conditional → map → database write (DESIGN §12)",
        "nodes": [
            {"id": "webhook", "type": "WebhookTrigger",
             "config": {"endpoint_path": "bench/five-node", "respond": "last_node"}},
            {"id": "validate", "type": "DataValidator",
             "config": {"rules": [
                 {"type": "required_fields", "fields": ["supplier_id", "co2_t", "period"]},
                 {"type": "range", "field": "co2_t", "min": 0, "max": 1_000_000}]}},
            {"id": "branch", "type": "Conditional", "config": {"condition": "validate.score > 0.8"}},
            {"id": "map", "type": "DataMapper",
             "config": {"mapping_rules": [
                 {"from": "supplier_id", "to": "supplier_id", "type": "string"},
                 {"from": "period", "to": "period", "type": "string"},
                 {"from": "co2_t", "to": "co2_t", "type": "number"},
                 {"to": "co2_kg", "value": "{{ item.co2_t * 1000 }}"}]}},
            {"id": "store", "type": "DatabaseWrite",
             "config": {"connection": connection, "table": TABLE, "operation": "insert",
                        "create_table": True}},
        ],
        "edges": [
            {"from": "webhook", "to": "validate"},
            {"from": "validate", "to": "branch"},
            {"from": "branch", "to": "map", "condition": "true"},
            {"from": "map", "to": "store"},
        ],
    }


def n8n_workflow() -> dict[str, Any]:
    return {
        "id": "bench-n8n", "name": "Bench: n8n flow",
        "description": "n8n's benchmark flow: webhook → IF value > 10 → set a field → respond with the item",
        "nodes": [
            {"id": "webhook", "type": "WebhookTrigger",
             "config": {"endpoint_path": "bench/n8n", "respond": "last_node"}},
            {"id": "check", "type": "Conditional", "config": {"condition": "item.value > 10"}},
            {"id": "set", "type": "DataMapper",
             "config": {"keep_unmapped": True, "mapping_rules": [{"to": "processed", "value": True}]}},
        ],
        "edges": [
            {"from": "webhook", "to": "check"},
            {"from": "check", "to": "set", "condition": "true"},
        ],
    }


@dataclass
class Scenario:
    name: str
    path: str
    #: Python %-format of a body, from (client, n)
    body: str
    #: the same body as a Lua string.format pattern, from (thread id, n)
    lua_body: str
    #: what a 200 answer must hold (checked once before the load)
    expect: Any


SCENARIOS = {
    "five-node": Scenario(
        "five-node", "/webhook/bench/five-node",
        '{"supplier_id":"S-%d-%d","co2_t":%d.5,"period":"2025-Q3"}',
        '{"supplier_id":"S-%d-%d","co2_t":%d.5,"period":"2025-Q3"}',
        lambda out: isinstance(out, list) and out and out[0].get("_write", {}).get("status") == "inserted"),
    "n8n": Scenario(
        "n8n", "/webhook/bench/n8n",
        '{"name":"client-%d","n":%d,"value":%d}',
        '{"name":"client-%d","n":%d,"value":%d}',
        lambda out: isinstance(out, list) and out and out[0].get("processed") is True),
}


def body_args(client: int, n: int) -> tuple[int, int, int]:
    return client, n, 11 + n % 100_000  # value > 10: the true branch, as in n8n's flow


# ------------------------------------------------------------------------------ machine
def proc_status(pid: int, key: str) -> int | None:
    """A ``kB`` figure of /proc/<pid>/status (VmHWM: peak resident memory)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def own_cpu_seconds() -> float:
    """CPU time of this process and of its finished children (wrk)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def postgres_cpu_seconds() -> dict[int, float]:
    """CPU time of each PostgreSQL process of this machine (the server and its backends)."""
    out: dict[int, float] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().strip() == "postgres":
                    t = cpu_seconds(int(d.name))
                    if t is not None:
                        out[int(d.name)] = t
            except OSError:
                continue
    return out


@dataclass
class CpuUse:
    """Cores used during the measured load: the server, the load generator, the PostgreSQL
    processes, and the whole machine."""

    server: float | None = None
    generator: float | None = None
    postgres: float | None = None
    machine: float | None = None
    ours_postgres: bool = False  # the case ran on PostgreSQL, so its work is the case's

    @property
    def others(self) -> float | None:
        """What the rest of the machine used (PostgreSQL too, unless the case ran on it)."""
        if None in (self.server, self.generator, self.machine):
            return None
        mine = self.server + self.generator + (self.postgres or 0.0 if self.ours_postgres else 0.0)  # type: ignore[operator]
        return max(0.0, self.machine - mine)  # type: ignore[operator]


class CpuMeter:
    def __init__(self, server_pid: int, on_postgres: bool) -> None:
        self.pid = server_pid
        self.on_postgres = on_postgres
        self.t0 = time.monotonic()
        self.s0, self.g0, self.m0 = cpu_seconds(server_pid), own_cpu_seconds(), machine_busy_seconds()
        self.p0 = postgres_cpu_seconds()

    def stop(self) -> CpuUse:
        dt = time.monotonic() - self.t0
        s1, g1, m1 = cpu_seconds(self.pid), own_cpu_seconds(), machine_busy_seconds()
        p1 = postgres_cpu_seconds()
        pg = sum(t - self.p0.get(pid, 0.0) for pid, t in p1.items()) / dt if p1 else None
        return CpuUse(server=(s1 - self.s0) / dt if s1 is not None and self.s0 is not None else None,
                      generator=(g1 - self.g0) / dt, postgres=pg,
                      machine=(m1 - self.m0) / dt if m1 is not None and self.m0 is not None else None,
                      ours_postgres=self.on_postgres)


def wait_quiet(limit: float, threshold: float = 0.25) -> float | None:
    """Wait, at most ``limit`` seconds, until the machine has been nearly idle (below
    ``threshold`` busy cores) for three seconds in a row; answers the busy cores seen last."""
    deadline = time.monotonic() + limit
    calm = 0
    busy = None
    while time.monotonic() < deadline and calm < 3:
        m0 = machine_busy_seconds()
        time.sleep(1.0)
        m1 = machine_busy_seconds()
        if m0 is None or m1 is None:
            return None
        busy = m1 - m0
        calm = calm + 1 if busy < threshold else 0
    return busy


def code_version() -> str:
    """The commit the server runs (it is installed from this checkout), and whether src/ differs."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=root, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" with uncommitted changes in src/" if dirty else "")


# ------------------------------------------------------------------------------ databases
class Postgres:
    """A fresh schema in the PostgreSQL database, for the platform and the written table."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.psycopg = psycopg
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self.schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.url, autocommit=True) as c:
            c.execute(f'CREATE SCHEMA "{self.schema}"')
            self.version = str(c.execute("SHOW server_version").fetchone()[0])

    @property
    def sqlalchemy_url(self) -> str:
        sep = "&" if "?" in self.url else "?"
        base = self.url.replace("postgresql://", "postgresql+psycopg://", 1)
        return f"{base}{sep}options={quote(f'-csearch_path={self.schema}', safe='')}"

    def count(self, table: str) -> int | None:
        with self.psycopg.connect(self.url, autocommit=True) as c:
            row = c.execute("SELECT to_regclass(%s)", (f'"{self.schema}".{table}',)).fetchone()
            if row[0] is None:
                return None
            return int(c.execute(f'SELECT count(*) FROM "{self.schema}".{table}').fetchone()[0])

    def table_stats(self) -> dict[str, dict[str, int]]:
        """Reads and writes per table of the schema since it was made (pg_stat_user_tables)."""
        time.sleep(1.5)  # backends report their counters about once a second
        with self.psycopg.connect(self.url, autocommit=True) as c:
            rows = c.execute("SELECT relname, coalesce(seq_scan, 0) + coalesce(idx_scan, 0), n_tup_ins, n_tup_upd, "
                             "n_tup_del FROM pg_stat_user_tables WHERE schemaname = %s", (self.schema,)).fetchall()
        return {r[0]: {"scans": r[1], "inserted": r[2], "updated": r[3], "deleted": r[4]} for r in rows}

    def drop(self) -> None:
        with self.psycopg.connect(self.url, autocommit=True) as c:
            c.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


def sqlite_count(path: Path, table: str) -> int | None:
    if not path.exists():
        return None
    with sqlite3.connect(path) as c:
        try:
            return int(c.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        except sqlite3.OperationalError:
            return None


# ------------------------------------------------------------------------------ load
@dataclass
class Load:
    generator: str
    seconds: float
    ok: int = 0  # answered 200
    non200: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0  # connection, read, write, timeout
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None

    @property
    def errors(self) -> int:
        return sum(self.non200.values()) + self.transport_errors

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


WRK_SCRIPT = r"""
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  n = tonumber(args[1]) or 0
  ok = 0
  bad = 0
  codes = {}
end
function request()
  n = n + 1
  local body = string.format(BODY, tid, n, 11 + n % 100000)
  return wrk.format("POST", PATH, {["Content-Type"] = "application/json"}, body)
end
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else
    bad = bad + 1
    codes[status] = (codes[status] or 0) + 1
  end
end
function done(summary, latency, requests)
  local ok_all, bad_all, codes_all = 0, 0, {}
  for _, t in ipairs(threads) do
    ok_all = ok_all + t:get("ok")
    bad_all = bad_all + t:get("bad")
    for k, v in pairs(t:get("codes")) do codes_all[k] = (codes_all[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(codes_all) do table.insert(parts, string.format('"%d":%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'WRK-RESULT {"duration_us":%d,"requests":%d,"ok":%d,"bad":%d,"codes":{%s},' ..
    '"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.duration, summary.requests, ok_all, bad_all, table.concat(parts, ","),
    e.connect, e.read, e.write, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""


def wrk_load(base: str, sc: Scenario, clients: int, seconds: float, work: Path, start_n: int) -> Load:
    script = work / f"wrk-{sc.name}.lua"
    lua_body = sc.lua_body.replace("\\", "\\\\").replace('"', '\\"')
    script.write_text(f'PATH = "{sc.path}"\nBODY = "{lua_body}"\n' + WRK_SCRIPT)
    cmd = ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
           "-s", str(script), base, "--", str(start_n)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    m = re.search(r"^WRK-RESULT (.*)$", out.stdout, re.M)
    if not m:
        raise RuntimeError(f"wrk gave no result (exit {out.returncode}):\n{out.stdout}\n{out.stderr}")
    r = json.loads(m.group(1))
    load = Load("wrk", r["duration_us"] / 1e6, ok=r["ok"],
                non200=Counter({int(k): v for k, v in r["codes"].items()}),
                transport_errors=r["connect"] + r["read"] + r["write"] + r["timeout"])
    # wrk counts a timed-out request neither as an answer nor in its latency figures
    load.p50_ms, load.p90_ms = r["p50_us"] / 1000, r["p90_us"] / 1000
    load.p99_ms, load.max_ms = r["p99_us"] / 1000, r["max_us"] / 1000
    return load


async def _python_load(base: str, sc: Scenario, clients: int, seconds: float, start_n: int) -> Load:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    latencies: list[float] = []
    load = Load("python (httpx)", seconds)
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as client:
        t_end = time.perf_counter() + seconds

        async def one(cid: int) -> None:
            n = start_n
            while time.perf_counter() < t_end:
                n += 1
                body = (sc.body % body_args(cid, n)).encode()
                t0 = time.perf_counter()
                try:
                    r = await client.post(sc.path, content=body, headers=headers)
                except httpx.HTTPError:
                    load.transport_errors += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                if r.status_code == 200:
                    load.ok += 1
                else:
                    load.non200[r.status_code] += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(one(c) for c in range(clients)))
        load.seconds = time.perf_counter() - t0
    if latencies:
        latencies.sort()
        def pct(q: float) -> float:
            return latencies[int(q * (len(latencies) - 1))] * 1000

        load.p50_ms, load.p90_ms, load.p99_ms, load.max_ms = pct(0.50), pct(0.90), pct(0.99), latencies[-1] * 1000
    return load


def python_load(base: str, sc: Scenario, clients: int, seconds: float, start_n: int) -> Load:
    try:
        import uvloop

        return uvloop.run(_python_load(base, sc, clients, seconds, start_n))
    except ImportError:
        return asyncio.run(_python_load(base, sc, clients, seconds, start_n))


# ------------------------------------------------------------------------------ one case
@dataclass
class Result:
    scenario: str
    database: str
    clients: int
    load: Load | None = None
    peak_rss_mb: float | None = None
    cpu: CpuUse | None = None  # cores used during the measured load
    runs: dict[str, int] = field(default_factory=dict)
    rows: int | None = None
    sent_ok: int = 0  # 200 answers in the check call, warm-up and measurement
    problem: str | None = None
    profile: str | None = None
    pg_tables: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        if self.problem:
            return self.problem
        total = self.runs.get("total", 0)
        done = self.runs.get("completed", 0)
        notes = []
        if done < self.sent_ok:
            notes.append(f"{self.sent_ok - done} runs answered 200 are not completed in the API")
        if total != done:
            others = {k: v for k, v in self.runs.items() if k not in ("total", "completed") and v}
            notes.append(f"{total - done} runs not completed ({others})")
        if self.scenario == "five-node" and self.rows != done:
            notes.append(f"rows in {TABLE} ({self.rows}) differ from completed runs ({done})")
        return "; ".join(notes) if notes else "ok: every run answered 200 is completed and stored"


def api_count(c: httpx.Client, workflow_id: str, status: str | None = None) -> int:
    params = {"workflow_id": workflow_id, "page_size": 1}
    if status:
        params["status"] = status
    r = c.get("/api/runs", params=params)
    r.raise_for_status()
    return int(r.json()["count"])


def run_case(scenario: str, database: str, args: argparse.Namespace) -> Result:
    sc = SCENARIOS[scenario]
    res = Result(scenario, database, args.clients)
    work = Path(tempfile.mkdtemp(prefix=f"datacollect-bench-{scenario}-{database}-"))
    pg: Postgres | None = None
    server: Server | None = None
    try:
        if database == "postgres":
            pg = Postgres(args.pg_url)
            db_url, target = pg.sqlalchemy_url, pg.sqlalchemy_url
        else:
            db_url, target = None, f"sqlite:///{work / 'target.db'}"
        server = Server(work, db_url, DATACOLLECT_ADMIN_EMAIL=ADMIN_EMAIL, DATACOLLECT_ADMIN_PASSWORD=ADMIN_PASSWORD)
        log(f"[{scenario}/{database}] server pid {server.pid} on {server.base}, data in {work}")
        server.wait_ready()
        with httpx.Client(base_url=server.base, timeout=60) as api:
            r = api.post("/api/auth/token", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            r.raise_for_status()
            api.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            wf = five_node_workflow(target) if scenario == "five-node" else n8n_workflow()
            r = api.post("/api/workflows", json=wf)
            if r.status_code != 201:
                raise RuntimeError(f"saving the workflow failed ({r.status_code}): {r.text}")

            # one call first: the answer must be what the flow makes
            r = api.post(sc.path, content=sc.body % body_args(999, 0), headers={"Content-Type": "application/json"})
            if r.status_code != 200 or not sc.expect(r.json()):
                raise RuntimeError(f"the first call answered {r.status_code}: {r.text[:500]}")
            res.sent_ok = 1

            use_wrk = args.generator == "wrk" or (args.generator == "auto" and shutil.which("wrk"))

            def load(seconds: float, start_n: int) -> Load:
                if use_wrk:
                    return wrk_load(server.base, sc, args.clients, seconds, work, start_n)
                return python_load(server.base, sc, args.clients, seconds, start_n)

            if args.wait_quiet > 0:
                busy = wait_quiet(args.wait_quiet)
                log(f"[{scenario}/{database}] machine busy before the load: {fmt(busy, 2)} cores")
            if args.warmup > 0:
                log(f"[{scenario}/{database}] warm-up {args.warmup:g} s")
                warm = load(args.warmup, 10_000_000)
                res.sent_ok += warm.ok
            profiler = start_profile(server.pid, args.duration, work) if args.profile else None
            log(f"[{scenario}/{database}] load: {args.clients} clients for {args.duration:g} s")
            meter = CpuMeter(server.pid, pg is not None)
            res.load = load(args.duration, 20_000_000)
            res.cpu = meter.stop()
            res.sent_ok += res.load.ok
            if profiler is not None:
                res.profile = finish_profile(profiler)
            rss = proc_status(server.pid, "VmHWM")
            res.peak_rss_mb = rss / 1024 if rss is not None else None

            # after the load: every run settles, and every answered run is stored
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (api_count(api, wf["id"], "running")
                                                   + api_count(api, wf["id"], "pending")):
                time.sleep(0.5)
            res.runs["total"] = api_count(api, wf["id"])
            for status in ("completed", "failed", "running", "pending", "waiting", "cancelled"):
                res.runs[status] = api_count(api, wf["id"], status)
            if scenario == "five-node":
                res.rows = pg.count(TABLE) if pg else sqlite_count(work / "target.db", TABLE)
            if pg is not None:
                res.pg_tables = pg.table_stats()
    except Exception as exc:  # a broken case is reported, the others still run
        res.problem = f"FAILED: {exc}"
        log(f"[{scenario}/{database}] {res.problem}")
        if server is not None:
            log(server.tail())
    finally:
        if server is not None:
            server.stop()
        if pg is not None:
            try:
                pg.drop()
            except Exception as exc:
                log(f"could not drop schema {pg.schema}: {exc}")
        if args.keep:
            log(f"[{scenario}/{database}] kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return res


# ------------------------------------------------------------------------------ profile
def start_profile(pid: int, seconds: float, work: Path) -> tuple[subprocess.Popen[bytes], Path] | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists() and not shutil.which(spy):
        log("--profile needs py-spy (pip install py-spy); profiling skipped")
        return None
    out = work / "profile.txt"
    cmd = [spy, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))), "--rate", "200",
           "--format", "raw", "--nonblocking", "--output", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out


def finish_profile(profiler: tuple[subprocess.Popen[bytes], Path]) -> str | None:
    proc, out = profiler
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if not out.exists():
        return None
    return summarize_profile(out.read_text(errors="replace"))



def summarize_profile(text: str, top: int = 15) -> str:
    """Where the server's busy samples go, from py-spy's collapsed stacks: self time per
    package and per line, and inclusive time per function and per call site of the project."""
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    funcs: Counter[str] = Counter()
    sites: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [_parse(f) for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames or frames[-1][:2] in _IDLE:
            continue
        total += n
        func, path, lineno = frames[-1]
        own[f"{func} ({path}:{lineno})"] += n
        packages[_package(path)] += n
        for name in {f"{fn} ({p})" for fn, p, _ in frames if p.startswith("datacollect/")}:
            funcs[name] += n
        for name in {f"{fn} ({p}:{ln})" for fn, p, ln in frames if p.startswith("datacollect/")}:
            sites[name] += n
    if not total:
        return "(no samples)"

    def block(title: str, counter: Counter[str], k: int = top) -> list[str]:
        return ["", title] + [f"  {100 * n / total:5.1f}%  {name}" for name, n in counter.most_common(k)]

    lines = [f"{total} samples of busy threads (threads waiting for work left out)"]
    lines += block("self time per package:", packages, 10)
    lines += block("self time per line:", own)
    lines += block("inclusive time per project function:", funcs)
    lines += block("inclusive time per project call site:", sites)
    return "\n".join(lines)


_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
#: leaves where a thread waits for work (py-spy may count them busy on a loaded machine)
_IDLE = {("Condition.wait", "stdlib/threading.py"), ("wait", "stdlib/threading.py"),
         ("select", "stdlib/selectors.py"), ("Queue.get", "stdlib/queue.py")}


def _parse(frame: str) -> tuple[str, str, str]:
    m = _FRAME.match(frame)
    if not m:
        return frame, "?", ""
    path = m["file"]
    for mark in ("site-packages/", "/src/"):
        if mark in path:
            path = path.split(mark, 1)[1]
            break
    else:
        if "/lib/python3" in path:
            path = "stdlib/" + path.rsplit("/", 1)[-1]
    return m["func"], path, m["line"] or ""


def _package(path: str) -> str:
    head = path.split("/", 1)[0]
    return head.removesuffix(".py") if head else path


# ------------------------------------------------------------------------------ report
def fmt(v: float | None, digits: int = 1) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


def target_text(scenario: str) -> str:
    t = TARGETS[scenario]
    parts = [f"≥ {t['runs']:,} runs/s"]
    if t["p50"] is not None:
        parts.append(f"p50 < {t['p50']:g}")
    parts.append(f"p99 < {t['p99']:g}")
    return ", ".join(parts)


def report(results: list[Result], args: argparse.Namespace, pg_version: str | None, code: str) -> str:
    out = ["| scenario | database | clients | runs/s | p50 ms | p99 ms | peak RSS MB | errors | server cores "
           "| others' cores | DESIGN §12 target |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        ld = r.load
        if ld is None:
            out.append(f"| {r.scenario} | {r.database} | {r.clients} | — | — | — | {fmt(r.peak_rss_mb, 0)} | "
                       f"{r.problem} | — | — | {target_text(r.scenario)} |")
            continue
        out.append(f"| {r.scenario} | {r.database} | {r.clients} | {fmt(ld.rate, 0)} | {fmt(ld.p50_ms)} | "
                   f"{fmt(ld.p99_ms)} | {fmt(r.peak_rss_mb, 0)} | {ld.errors} | {fmt(r.cpu.server if r.cpu else None, 2)} "
                   f"| {fmt(r.cpu.others if r.cpu else None, 2)} | {target_text(r.scenario)} |")
    gens = sorted({r.load.generator for r in results if r.load})
    wrk_version = ""
    if "wrk" in gens:
        v = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        wrk_version = " " + ((v.stdout or v.stderr).split() or ["", ""])[1]
    out += [
        "",
        f"Machine: {nproc()} cores ({cpu_model()}), Python {pyplatform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}" + (f", PostgreSQL {pg_version}" if pg_version else "")
        + f", {pyplatform.system()} {pyplatform.release()}. Code: {code}.",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Load: {', '.join(gens) or '—'}{wrk_version} on the same "
        f"machine, {args.clients} closed-loop clients over keep-alive connections, {args.duration:g} s "
        f"after {args.warmup:g} s of warm-up; one `datacollect up` process per row (embedded shape, "
        "in-process worker pool and scheduler).",
        "runs/s counts calls answered 200, i.e. runs that went end to end and were committed. "
        "Server cores: CPU the server process used during the load (1.00 is one core); others' cores: "
        "what the rest of the machine used meanwhile, other than the load generator and, on the PostgreSQL "
        "rows, PostgreSQL (the kernel's loopback work is in it).",
    ]
    others = [r.cpu.others for r in results if r.cpu and r.cpu.others is not None]
    if others:
        out.append(f"Other processes on the machine used {min(others):.2f}–{max(others):.2f} cores during the "
                   "measured loads" + (" (the machine was shared: these figures are lower than on an idle one)."
                                       if max(others) > 0.2 else "."))
    return "\n".join(out)


def details(r: Result) -> str:
    lines = [f"{r.scenario} / {r.database}:"]
    if r.load:
        ld = r.load
        lines.append(f"  load: {ld.generator}, {ld.seconds:.1f} s, {ld.ok} answered 200, "
                     f"non-200 {dict(ld.non200) or 0}, transport errors {ld.transport_errors}")
        lines.append(f"  latency ms: p50 {fmt(ld.p50_ms)}, p90 {fmt(ld.p90_ms)}, p99 {fmt(ld.p99_ms)}, "
                     f"max {fmt(ld.max_ms)}")
    if r.cpu is not None:
        c = r.cpu
        lines.append(f"  cores busy during the load: server {fmt(c.server, 2)}, load generator {fmt(c.generator, 2)}, "
                     f"PostgreSQL {fmt(c.postgres, 2)}{' (this case)' if c.ours_postgres else ' (not this case)'}, "
                     f"everything else {fmt(c.others, 2)}; machine {fmt(c.machine, 2)} of {nproc()}")
    if r.runs:
        lines.append(f"  runs in the API: {r.runs}; 200 answers sent in all (check + warm-up + load): {r.sent_ok}")
    if r.scenario == "five-node" and r.rows is not None:
        lines.append(f"  rows in {TABLE}: {r.rows}")
    lines.append(f"  verdict: {r.verdict}")
    runs = r.runs.get("total")
    if r.pg_tables and runs:
        busy = {t: v for t, v in sorted(r.pg_tables.items()) if any(x / runs >= 0.05 for x in v.values())}
        lines.append("  PostgreSQL work per run, approximate (pg_stat_user_tables; a scan is one index or "
                     "table read):")
        lines += [f"    {t}: " + ", ".join(f"{k} {v / runs:.2f}" for k, v in vals.items())
                  for t, vals in busy.items()]
    if r.profile:
        lines.append("  profile of the server during the load (py-spy):")
        lines += ["    " + line for line in r.profile.splitlines()]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--scenario", choices=("five-node", "n8n", "both"), default="both")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of measured load per case (10)")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring (3)")
    ap.add_argument("--clients", type=int, default=50, help="concurrent clients (50)")
    ap.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto",
                    help="load generator: wrk when installed (auto), or the Python one")
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG),
                    help=f"PostgreSQL server to use; a fresh schema is made and dropped ({DEFAULT_PG})")
    ap.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                    help="before each case, wait up to this long for the machine to be nearly idle (0: don't)")
    ap.add_argument("--profile", action="store_true",
                    help="sample the server with py-spy during the load and print where the time goes")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data folders (logs, databases)")
    args = ap.parse_args()
    if args.generator == "wrk" and not shutil.which("wrk"):
        ap.error("wrk is not installed (apt-get install wrk), use --generator python")

    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    scenarios = ["five-node", "n8n"] if args.scenario == "both" else [args.scenario]
    pg_version = None
    if "postgres" in dbs:
        try:
            import psycopg

            with psycopg.connect(args.pg_url.replace("postgresql+psycopg://", "postgresql://")) as c:
                pg_version = str(c.execute("SHOW server_version").fetchone()[0])
        except Exception as exc:
            log(f"PostgreSQL at {args.pg_url} cannot be reached ({exc}); its cases will fail")

    code = code_version()
    results = [run_case(sc, db, args) for db in dbs for sc in scenarios]
    print()
    print("\n\n".join(details(r) for r in results))
    print()
    print(report(results, args, pg_version, code))
    if args.profile:
        print("\n(py-spy sampled the server during the load, which costs it some time: compare figures "
              "without --profile)")


if __name__ == "__main__":
    main()
