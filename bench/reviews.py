#!/usr/bin/env python3
"""Review queue benchmark (issue 5): a queue of 100,000 items behind the real server.

For each database (SQLite, the embedded shape's default, and/or PostgreSQL in a fresh schema,
dropped afterwards) it:

1. puts ``--items`` (100,000) review items in the queues of one team of ``--reviewers`` (20)
   reviewers, through the reviews service (``reviews.queue.enqueue``, in batches of 5,000),
   ``--bulk`` (10,000) of them in a queue of their own; priorities, scores and validation issues
   are spread over the items; it reports items/s. On PostgreSQL it then runs ``VACUUM ANALYZE``
   on the two tables, as autovacuum would after a load of this size (SQLite is left as the
   platform leaves it: no ANALYZE);
2. starts the real server (``datacollect up``) on that database and signs the reviewers in;
3. **listing**: one reviewer asks for a page of 50 again and again (``GET /api/reviews/items``,
   with its counts per status) in four ways: the team's pending queue in priority order, the
   items with validation issues, the 100th page, and sorted by due date; p50 / p99 per way;
4. **claims**: ``--reviewers`` clients at once each take the next item (``POST
   /api/reviews/claim-next``) and approve it, for ``--duration`` seconds; it reports claims/s
   and checks that no item was given to two reviewers;
5. **bulk**: one ``POST /api/reviews/bulk`` approves the ``--bulk`` items of their queue with one
   reason; it reports the call's time and checks the items in the database.

It prints the figures, then a markdown table with the machine. It never passes or fails on time.

Run it from the repository with the project's virtualenv::

    .venv/bin/python bench/reviews.py                      # SQLite and PostgreSQL
    .venv/bin/python bench/reviews.py --db sqlite --items 20000 --bulk 2000 --duration 5

PostgreSQL is reached at ``--pg-url`` (default ``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform as pyplatform
import random
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
from benchlib import Server, cpu_model, cpu_seconds, log, machine_busy_seconds, memory_gb, nproc, pct

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
PASSWORD = "bench-password-1"
ADMIN = "bench-admin@example.com"


def machine() -> str:
    cores = nproc()
    import sqlite3

    import sqlalchemy

    return (f"{cpu_model()}, {cores} cores, {memory_gb():.1f} GB RAM, {pyplatform.system()} {pyplatform.release()}, "
            f"Python {pyplatform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"SQLAlchemy {sqlalchemy.__version__}")


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip() or "?"
    except OSError:
        return "?"


class Busy:
    """How many cores the rest of the machine kept busy during a phase (not this process, not
    the server): above ~0.2 the figures are lower than on an idle machine."""

    def __init__(self, server_pid: int) -> None:
        self.pid = server_pid
        self.t0, self.all0 = time.monotonic(), machine_busy_seconds()
        self.own0, self.srv0 = sum(os.times()[:2]), (cpu_seconds(server_pid) or 0.0)

    def others(self) -> float | None:
        all1 = machine_busy_seconds()
        if all1 is None or self.all0 is None:
            return None
        spent = (all1 - self.all0) - (sum(os.times()[:2]) - self.own0) - ((cpu_seconds(self.pid) or 0.0) - self.srv0)
        return max(0.0, spent / max(1e-6, time.monotonic() - self.t0))


# -- seeding -------------------------------------------------------------------------------
@dataclass
class Seeded:
    seconds: float
    items: int
    reviewers: list[str]


def seed(database_url: str, data_dir: Path, items: int, bulk: int, reviewers: int) -> Seeded:
    """Users, one team, and the items, written through the reviews service."""
    from datacollect.db.migrate import upgrade
    from datacollect.db.session import Database
    from datacollect.reviews import teams
    from datacollect.reviews.queue import NewItem, enqueue
    from datacollect.security.users import create_user

    upgrade(database_url)
    db = Database(database_url)
    emails = [f"reviewer{i:02d}@example.com" for i in range(reviewers)]
    with db.write() as s:
        create_user(s, ADMIN, PASSWORD, "admin", actor="bench")
        team = teams.create_team(s, "Bench", "bench")
        for e in emails:
            u = create_user(s, e, PASSWORD, "reviewer", actor="bench")
            teams.set_member(s, team.id, u.id, "bench")
    rnd = random.Random(5)
    t0 = time.perf_counter()
    batch = 5000
    for start in range(0, items, batch):
        entries = []
        for i in range(start, min(items, start + batch)):
            queue = "bulk" if i < bulk else "main"
            issues = [{"rule": "range", "field": "co2_t", "message": "above last year's range"}] \
                if rnd.random() < 0.1 else []
            entries.append(NewItem(
                data={"supplier_id": f"S{i % 3000:05d}", "co2_t": round(rnd.uniform(10, 5000), 2), "period": "2025-Q1"},
                queue=queue, team="Bench", priority=rnd.choice((0, 1, 1, 1, 2, 3)),
                sla_seconds=rnd.choice((None, 86400 * 3, 86400 * 7)), title=f"Supplier {i % 3000:05d}",
                subject_key=f"S{i % 3000:05d}", issues=issues, score=round(rnd.uniform(0.3, 1.0), 3),
                source="api"))
        with db.write() as s:
            enqueue(s, entries)
        log(f"  seeded {min(items, start + batch)} / {items}")
    seconds = time.perf_counter() - t0
    if db.dialect == "postgresql":  # what autovacuum does after a load this size: statistics, visibility map
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE review_items")
            c.exec_driver_sql("VACUUM ANALYZE review_events")
    db.dispose()
    return Seeded(seconds, items, emails)


# -- the measures --------------------------------------------------------------------------
@dataclass
class Result:
    db: str
    seed_rate: float = 0.0
    listing: dict[str, tuple[float, float, int]] = field(default_factory=dict)  # way -> p50, p99 ms, count
    claims: int = 0
    claim_seconds: float = 0.0
    claim_p50: float = 0.0
    claim_p99: float = 0.0
    claim_errors: int = 0
    duplicates: int = 0
    bulk_seconds: float = 0.0
    bulk_decided: int = 0
    bulk_checked: int = 0
    others: dict[str, float | None] = field(default_factory=dict)  # phase -> cores others used
    problems: list[str] = field(default_factory=list)


async def token(client: httpx.AsyncClient, email: str) -> str:
    r = await client.post("/api/auth/token", data={"username": email, "password": PASSWORD})
    r.raise_for_status()
    return str(r.json()["access_token"])


async def listing(client: httpx.AsyncClient, auth: dict[str, str], samples: int) -> dict[str, tuple[float, float, int]]:
    ways = {
        "pending, priority order": "/api/reviews/items?status=pending&queue=main&page_size=50",
        "with issues": "/api/reviews/items?status=pending&has_issues=true&page_size=50",
        "page 100": "/api/reviews/items?status=pending&queue=main&page=100&page_size=50",
        "by due date": "/api/reviews/items?status=pending&sort=due&page_size=50",
    }
    out = {}
    for name, url in ways.items():
        times = []
        count = 0
        for _ in range(3):  # warm-up
            await client.get(url, headers=auth)
        for _ in range(samples):
            t0 = time.perf_counter()
            r = await client.get(url, headers=auth)
            times.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
            count = r.json()["count"]
        out[name] = (statistics.median(times), pct(times, 0.99), count)
        log(f"  listing {name}: p50 {out[name][0]:.1f} ms, p99 {out[name][1]:.1f} ms ({count} items match)")
    return out


async def claims(base: str, tokens: list[str], seconds: float, res: Result) -> list[str]:
    got: list[list[str]] = [[] for _ in tokens]
    lat: list[float] = []
    stop = time.monotonic() + seconds

    async def reviewer(i: int) -> None:
        auth = {"Authorization": f"Bearer {tokens[i]}"}
        async with httpx.AsyncClient(base_url=base, timeout=30) as c:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                r = await c.post("/api/reviews/claim-next?queue=main", headers=auth)
                lat.append((time.perf_counter() - t0) * 1000)
                if r.status_code == 204:
                    return
                if r.status_code != 200:
                    res.claim_errors += 1
                    continue
                item_id = r.json()["item"]["id"]
                got[i].append(item_id)
                a = await c.post(f"/api/reviews/items/{item_id}/approve", headers=auth, json={})
                if a.status_code != 200:
                    res.claim_errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(reviewer(i) for i in range(len(tokens))))
    res.claim_seconds = time.perf_counter() - t0
    every = [x for g in got for x in g]
    res.claims = len(every)
    res.duplicates = len(every) - len(set(every))
    res.claim_p50, res.claim_p99 = statistics.median(lat), pct(lat, 0.99)
    return every


async def measure(db: str, database_url: str, args: argparse.Namespace, data_dir: Path) -> Result:
    res = Result(db)
    log(f"[{db}] seeding {args.items} items...")
    seeded = seed(database_url, data_dir, args.items, args.bulk, args.reviewers)
    res.seed_rate = seeded.items / seeded.seconds
    log(f"[{db}] starting the server")
    server = Server(data_dir, database_url)
    try:
        server.wait_ready()
        async with httpx.AsyncClient(base_url=server.base, timeout=120) as client:
            tokens = [await token(client, e) for e in seeded.reviewers]
            admin = {"Authorization": f"Bearer {await token(client, ADMIN)}"}
            busy = Busy(server.proc.pid)
            res.listing = await listing(client, {"Authorization": f"Bearer {tokens[0]}"}, args.samples)
            res.others["listing"] = busy.others()
            log(f"[{db}] {args.reviewers} reviewers claim and approve for {args.duration:.0f} s")
            busy = Busy(server.proc.pid)
            await claims(server.base, tokens, args.duration, res)
            res.others["claims"] = busy.others()
            log(f"  {res.claims} claims in {res.claim_seconds:.1f} s, duplicates {res.duplicates}")
            log(f"[{db}] bulk approve of the {args.bulk} items of queue 'bulk'")
            busy = Busy(server.proc.pid)
            t0 = time.perf_counter()
            r = await client.post("/api/reviews/bulk", headers={"Authorization": f"Bearer {tokens[1]}"},
                                  json={"action": "approve", "reason": "Sample of 50 checked against the ERP",
                                        "filter": {"queue": "bulk"}})
            res.bulk_seconds = time.perf_counter() - t0
            res.others["bulk"] = busy.others()
            if r.status_code != 200:
                res.problems.append(f"bulk answered {r.status_code}: {r.text[:300]}")
            else:
                res.bulk_decided = r.json()["decided"]
            page = await client.get("/api/reviews/items?queue=bulk&status=approved&page_size=1", headers=admin)
            res.bulk_checked = page.json()["count"]
            approved_main = (await client.get("/api/reviews/items?queue=main&status=approved&page_size=1",
                                              headers=admin)).json()["count"]
            if approved_main != res.claims - res.claim_errors:
                res.problems.append(f"{res.claims} claims but {approved_main} approved in queue main")
            if res.duplicates:
                res.problems.append(f"{res.duplicates} items were given to two reviewers")
            if res.bulk_checked != args.bulk:
                res.problems.append(f"bulk: {res.bulk_checked} of {args.bulk} items approved")
    finally:
        server.stop()
    return res


def pg_schema(base: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    schema = f"bench_reviews_{uuid.uuid4().hex[:8]}"
    engine = create_engine(base.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    url = base.replace("postgresql://", "postgresql+psycopg://") + "?options=" + quote(f"-csearch_path={schema}")
    return schema, url


def drop_schema(base: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(base.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def report(results: list[Result], args: argparse.Namespace) -> None:
    print(f"\n## Review queue: {args.items:,} items, {args.reviewers} reviewers (commit {commit()})\n")
    print(f"Machine: {machine()}\n")
    ways = next((list(r.listing) for r in results if r.listing), [])
    head = ["database", "seed items/s", *[f"list '{w}' p50 / p99 ms" for w in ways],
            f"claims/s ({args.reviewers} reviewers, claim + approve)", "claim p50 / p99 ms",
            f"bulk approve {args.bulk:,} (s)", "checks"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in results:
        if not r.listing:
            print("| " + " | ".join([r.db, *["-"] * (len(head) - 2), "; ".join(r.problems)]) + " |")
            continue
        cells = [r.db, f"{r.seed_rate:,.0f}",
                 *[f"{r.listing[w][0]:.1f} / {r.listing[w][1]:.1f}" for w in ways],
                 f"{r.claims / r.claim_seconds:,.0f}" if r.claim_seconds else "-",
                 f"{r.claim_p50:.1f} / {r.claim_p99:.1f}", f"{r.bulk_seconds:.2f}",
                 "ok" if not r.problems else "; ".join(r.problems)]
        print("| " + " | ".join(cells) + " |")
    print()
    for r in results:
        print(f"- {r.db}: {r.claims} claims in {r.claim_seconds:.1f} s with {r.claim_errors} errors and "
              f"{r.duplicates} items given twice; bulk decided {r.bulk_decided}, {r.bulk_checked} approved after it")
        shared = {k: v for k, v in r.others.items() if v is not None}
        if shared:
            words = ", ".join(f"{k} {v:.2f}" for k, v in shared.items())
            note = " (the machine was shared: these figures read lower than on an idle one)" \
                if max(shared.values()) > 0.2 else ""
            print(f"  cores the rest of the machine kept busy meanwhile: {words}{note}")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--bulk", type=int, default=10_000)
    ap.add_argument("--reviewers", type=int, default=20)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of concurrent claims")
    ap.add_argument("--samples", type=int, default=200, help="listing calls per way")
    ap.add_argument("--pg-url", default=DEFAULT_PG)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = ap.parse_args()
    results = []
    for db in (("sqlite", "postgres") if args.db == "both" else (args.db,)):
        data_dir = Path(tempfile.mkdtemp(prefix=f"bench-reviews-{db}-"))
        schema = None
        try:
            if db == "sqlite":
                url = f"sqlite:///{data_dir / 'datacollect.db'}"
            else:
                schema, url = pg_schema(args.pg_url)
            results.append(await measure(db, url, args, data_dir))
        except Exception as exc:  # one database failing must not lose the other's figures
            log(f"[{db}] failed: {type(exc).__name__}: {exc}")
            results.append(Result(db, problems=[f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"]))
        finally:
            if schema:
                drop_schema(args.pg_url, schema)
            if not args.keep:
                shutil.rmtree(data_dir, ignore_errors=True)
    report(results, args)


if __name__ == "__main__":
    asyncio.run(main())
