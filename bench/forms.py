#!/usr/bin/env python3
"""Forms benchmark (DESIGN §12): campaigns, submissions with validation and run resume, resume
latency with many waiting requests, and bulk import.

Everything runs in this process on a fresh SQLite data folder (the embedded shape), through
the same code the server runs: the FastAPI app is called through httpx's ASGI transport (no
sockets, no uvicorn: the load generator shares the CPU with the server), and mail goes to a
mailer that keeps the links in memory instead of an SMTP server (so the figures are the
platform's, not a mail server's).

* ``campaign``: ``POST /api/forms/{id}/send`` to N recipients (default 10,000): the time to
  answer (campaign and requests written), then the time until every invitation is rendered
  and handed to the mailer.
* ``submit``: a workflow ManualTrigger → SendForm (each_response, recipients from a data
  source as in the plan's seed) → DataValidator → Conditional → DataMapper waits on a campaign
  of N recipients; C concurrent clients submit
  valid answers through ``POST /api/public/forms/{token}/submit``; each call returns after the
  answer is validated and stored and the run's new lane has been driven through the graph.
  Submissions/s and p50/p99 latency; the rate until every lane is through (lanes handed to the
  dispatcher included); and the rate over the first and the last fifth of the submissions, which
  agree when an answer costs the same however many lanes the run already holds.
* ``resume``: the same with a campaign of W waiting requests (default 100,000); submissions
  one at a time: p50/p99 of submit-to-lane-done (and p50 of the first and of the last tenth, as
  the run's lanes grow), and the process's RSS before and after.
* ``import``: a CSV of R rows (default 1,000,000) of the form's template, figures, names and
  addresses differing on every row and one row in a hundred bad, read and validated row by row
  (``forms.bulk.import_rows``, with its worker processes unless ``--import-workers 0``): rows/s,
  the peak RSS of a child process that does only that and of the largest worker, the CPU each
  used, and the load average before and after (BulkImport's own output holds the good rows as
  items, which this does not measure).

It prints figures and the machine; it never passes or fails on time::

    .venv/bin/python bench/forms.py                       # everything, default sizes
    .venv/bin/python bench/forms.py --only submit --submissions 2000 --concurrency 50
    .venv/bin/python bench/forms.py --only resume --waiting 2000 --samples 2000   # 2,000 lanes, one at a time
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform as pyplatform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from datacollect.api.app import create_app  # noqa: E402
from datacollect.config import Settings  # noqa: E402
from datacollect.platform import Platform  # noqa: E402
from datacollect.security.users import create_user  # noqa: E402

FORM = json.loads((ROOT / "examples" / "forms" / "supplier_emissions_v2.json").read_text())
LINK = re.compile(r"/f/([A-Za-z0-9_-]{20,})")
ANSWERS = {
    "company_name": "Acme Steel GmbH", "vat_id": "DE123456789", "country": "DE", "contact_name": "Jana Weber",
    "contact_email": "jana@acme.example", "employees": 420, "period_start": "2025-01-01",
    "period_end": "2025-03-31", "reporting_standard": "ghg_protocol", "scope_1": 1200.5, "scope_2": 800,
    "scope_2_method": "market", "reports_scope_3": False, "total_emissions": 2000.5, "has_sites": False,
    "signatory": "Jana Weber", "confirm": True,
}


class LinkMailer:
    """Accepts every mail at once and keeps each recipient's latest link."""

    def __init__(self) -> None:
        self.links: dict[str, str] = {}
        self.count = 0

    async def send_many(self, mails: list[Any]) -> list[str]:
        out = []
        for m in mails:
            self.count += 1
            found = LINK.search(m.text)
            if found:
                self.links[m.to[0]] = found.group(1)
            out.append(f"<{self.count}@bench>")
        return out

    async def send(self, to: list[str], subject: str, text: str, html: str | None = None,
                   headers: dict[str, str] | None = None, **kw: Any) -> str:
        return (await self.send_many([type("M", (), {"to": to, "text": text})()]))[0]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{pyplatform.node()}: {cpu}, {os.cpu_count()} CPUs, {mem:.0f} GiB RAM, "
            f"Python {pyplatform.python_version()}, {pyplatform.system()} {pyplatform.release()}")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class Bench:
    def __init__(self, data: Path) -> None:
        self.settings = Settings(env="test", data_dir=data, secret_key="bench-secret-key-long-enough-0123456789",
                                 public_url="http://bench.local", scheduler_interval=0.25)
        self.platform = Platform.create(self.settings)
        self.mailer = LinkMailer()
        forms = self.platform.services.forms
        forms.raw_mailer = self.mailer
        self.app = create_app(self.settings, self.platform, scheduler=True)

    async def __aenter__(self) -> Bench:
        self._life = self.app.router.lifespan_context(self.app)
        await self._life.__aenter__()
        with self.platform.db.write() as s:
            create_user(s, "bench@example.com", "bench-password-123", "admin", actor="bench")
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://bench",
                                        limits=limits, timeout=120)
        r = await self.client.post("/api/auth/token", data={"username": "bench@example.com",
                                                            "password": "bench-password-123"})
        self.auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = await self.client.post("/api/forms", json=FORM, headers=self.auth)
        assert r.status_code in (200, 201), r.text
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.client.aclose()
        await self._life.__aexit__(*exc)

    async def delivered(self, n: int, timeout: float = 3600) -> None:
        t0 = time.monotonic()
        while self.mailer.count < n and time.monotonic() - t0 < timeout:
            await asyncio.sleep(0.05)
        await self.platform.services.forms.wait_idle(60)

    async def campaign(self, n: int) -> dict[str, Any]:
        recipients = [{"email": f"supplier{i}@bench.example", "name": f"Supplier {i}"} for i in range(n)]
        before = self.mailer.count
        t0 = time.perf_counter()
        r = await self.client.post("/api/forms/supplier_emissions_v2/send", headers=self.auth,
                                   json={"recipients": recipients, "deadline": "2099-01-01T00:00:00Z"})
        t1 = time.perf_counter()
        assert r.status_code == 201, r.text
        await self.delivered(before + n)
        t2 = time.perf_counter()
        return {"recipients": n, "created_s": t1 - t0, "delivered_s": t2 - t0,
                "mails_per_s": n / (t2 - t1) if t2 > t1 else float("nan")}

    async def waiting_run(self, n: int, wid: str) -> tuple[str, list[str]]:
        """A run waiting on a campaign of n recipients; answers (run id, their links)."""
        definition = {"id": wid, "name": wid, "nodes": [
            {"id": "start", "type": "ManualTrigger"},
            {"id": "form_1", "type": "SendForm", "config": {"form_id": "supplier_emissions_v2",
                                                            "recipients": f"{{{{ database.{wid.replace('-', '_')} }}}}"}},
            {"id": "validate_1", "type": "DataValidator", "config": {"rules": ["required_fields"]}},
            {"id": "branch_1", "type": "Conditional", "config": {"condition": "validate_1.score > 0.8"}},
            {"id": "map_1", "type": "DataMapper", "config": {"mapping_rules": [
                {"from": "company_name", "to": "supplier", "type": "string"},
                {"from": "total_emissions", "to": "co2_t", "type": "number"}]}}],
            "edges": [{"from": "start", "to": "form_1"}, {"from": "form_1", "to": "validate_1"},
                      {"from": "validate_1", "to": "branch_1"},
                      {"from": "branch_1", "to": "map_1", "condition": "true"}]}
        r = await self.client.post("/api/workflows", json=definition, headers=self.auth)
        assert r.status_code == 201, r.text
        emails = [f"{wid}{i}@bench.example" for i in range(n)]
        r = await self.client.put(f"/api/data-sources/{wid.replace('-', '_')}", headers=self.auth,
                                  json={"rows": [{"email": e, "name": f"Supplier {i}"} for i, e in enumerate(emails)]})
        assert r.status_code == 200, r.text
        before = self.mailer.count
        r = await self.client.post(f"/api/workflows/{wid}/run", headers=self.auth, json={"data": {}})
        assert r.status_code == 200 and r.json()["status"] == "waiting", r.text
        await self.delivered(before + n)
        return r.json()["id"], [self.mailer.links[e] for e in emails]

    async def submit_load(self, n: int, concurrency: int) -> dict[str, Any]:
        run_id, tokens = await self.waiting_run(n, "submit-load")
        latencies: list[float] = []
        done_at: list[float] = []
        errors = 0
        queue = list(tokens)

        async def client() -> None:
            nonlocal errors
            while queue:
                token = queue.pop()
                t0 = time.perf_counter()
                r = await self.client.post(f"/api/public/forms/{token}/submit", json={"answers": ANSWERS})
                latencies.append(time.perf_counter() - t0)
                done_at.append(time.perf_counter())
                if r.status_code != 200:
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
        await self.platform.dispatcher.drain(60) if self.platform.dispatcher else None
        all_done = time.perf_counter() - t0  # every lane through the graph, handed-off ones included
        lanes = self.count_lanes(run_id)
        # the rate while the run held few lanes and while it held many (flat if the two agree)
        fifth = max(1, n // 5)
        first = fifth / (done_at[fifth - 1] - t0)
        last = fifth / (done_at[-1] - done_at[-fifth - 1]) if n > fifth else float("nan")
        return {"submissions": n, "concurrency": concurrency, "per_s": n / elapsed, "p50_ms": pct(latencies, 50) * 1e3,
                "p99_ms": pct(latencies, 99) * 1e3, "errors": errors, "lanes_done": lanes,
                "all_done_per_s": n / all_done, "first_fifth_per_s": first, "last_fifth_per_s": last}

    def count_lanes(self, run_id: str) -> int:
        with self.platform.store.transaction() as tx:
            return sum(1 for a in tx.find_activations(run_id, ["map_1"]) if a["status"] == "completed")

    async def resume_latency(self, waiting: int, samples: int) -> dict[str, Any]:
        rss0 = rss_mb()
        t0 = time.perf_counter()
        run_id, tokens = await self.waiting_run(waiting, "resume")
        setup = time.perf_counter() - t0
        rss1 = rss_mb()
        latencies = []
        for token in tokens[:samples]:
            t = time.perf_counter()
            r = await self.client.post(f"/api/public/forms/{token}/submit", json={"answers": ANSWERS})
            latencies.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
        done = self.count_lanes(run_id)
        tenth = max(1, len(latencies) // 10)
        return {"waiting": waiting, "setup_s": setup, "samples": samples, "p50_ms": pct(latencies, 50) * 1e3,
                "p99_ms": pct(latencies, 99) * 1e3, "lanes_done": done,
                "first_p50_ms": pct(latencies[:tenth], 50) * 1e3, "last_p50_ms": pct(latencies[-tenth:], 50) * 1e3,
                "rss_before_mb": rss0,
                "rss_waiting_mb": rss1, "rss_after_mb": rss_mb()}


def write_csv(path: Path, rows: int) -> None:
    header = [k for k in ANSWERS]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        base = [str(ANSWERS[h]).lower() if isinstance(ANSWERS[h], bool) else str(ANSWERS[h]) for h in header]
        i_scope = header.index("scope_1")
        i_total = header.index("total_emissions")
        i_name = header.index("company_name")
        i_scope_2 = header.index("scope_2")
        i_employees = header.index("employees")
        i_vat, i_email = header.index("vat_id"), header.index("contact_email")
        i_contact, i_signatory = header.index("contact_name"), header.index("signatory")
        for i in range(rows):
            row = list(base)
            row[i_name] = f"Supplier {i}"
            row[i_vat] = f"DE{100_000_000 + i}"
            row[i_contact] = row[i_signatory] = f"Contact {i}"
            row[i_email] = f"contact{i}@supplier{i}.example"
            row[i_employees] = str(i % 100_000)
            # figures differ from row to row, as in a real file: nothing is the same twice
            s1 = 1000 + (i * 7919) % 1_000_003 / 1000
            s2 = (i * 104_729) % 500_009 / 1000
            row[i_scope_2] = f"{s2:.3f}"
            row[i_total] = f"{s1 + s2:.3f}"
            row[i_scope] = "n/a" if i % 100 == 7 else f"{s1:.3f}"  # one row in a hundred is bad
            w.writerow(row)


def children_memory() -> tuple[float, float]:
    """(sum of the proportional set sizes, largest peak RSS) of this process's children, in MB."""
    me = os.getpid()
    pids: list[str] = []
    for tid in os.listdir(f"/proc/{me}/task"):
        try:
            pids += Path(f"/proc/{me}/task/{tid}/children").read_text().split()
        except OSError:
            pass
    total = peak = 0.0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):  # pages shared with the reading process count by share
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total, peak


def import_child(path: str, workers: int | None) -> None:
    """Runs in a child process so its peak RSS is the import's alone; its workers' memory is
    sampled from /proc while it runs."""
    import threading

    from datacollect.forms.bulk import import_rows
    from datacollect.forms.schema import parse_form_schema

    schema = parse_form_schema(FORM)
    rss0 = rss_mb()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers_mb = [0.0, 0.0]  # the most they held together, the largest peak of one
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.25):
            total, peak = children_memory()
            workers_mb[0], workers_mb[1] = max(workers_mb[0], total), max(workers_mb[1], peak)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    good = bad = 0
    for o in import_rows(schema, path, workers=workers):
        if o.ok:
            good += 1
        else:
            bad += 1
    elapsed = time.perf_counter() - t0
    done.set()
    sampler.join()
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers, once they have ended
    print(json.dumps({"rows": good + bad, "good": good, "bad": bad, "seconds": elapsed,
                      "rows_per_s": (good + bad) / elapsed, "rss_start_mb": rss0, "peak_rss_mb": me.ru_maxrss / 1024,
                      "worker_peak_rss_mb": workers_mb[1], "workers_rss_mb": workers_mb[0],
                      "cpu_s": me.ru_utime + me.ru_stime - cpu0.ru_utime - cpu0.ru_stime,
                      "worker_cpu_s": kids.ru_utime + kids.ru_stime - kids0.ru_utime - kids0.ru_stime}))


def bulk(rows: int, workers: int | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "import.csv"
        write_csv(path, rows)
        size = path.stat().st_size
        cmd = [sys.executable, __file__, "--import-child", str(path)]
        if workers is not None:
            cmd += ["--import-workers", str(workers)]
        load = os.getloadavg()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["file_mb"] = size / 2**20
        result["load"] = (load, os.getloadavg())
        return result


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["campaign", "submit", "resume", "import"], action="append")
    ap.add_argument("--recipients", type=int, default=10_000, help="campaign size")
    ap.add_argument("--submissions", type=int, default=5_000, help="submissions in the load test")
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--waiting", type=int, default=100_000, help="waiting requests for the resume test")
    ap.add_argument("--samples", type=int, default=300, help="submissions timed in the resume test")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows in the bulk import")
    ap.add_argument("--import-workers", type=int, default=None,
                    help="processes that check the imported rows (default: one per core for a large file; 0: none)")
    ap.add_argument("--import-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.import_child:
        import_child(args.import_child, args.import_workers)
        return
    only = set(args.only or ["campaign", "submit", "resume", "import"])
    import logging

    logging.disable(logging.WARNING)
    print(f"machine: {machine()}")
    print("shape: embedded (SQLite, in-process workers); API called in-process through ASGI (no HTTP server)\n")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as d:
        async with Bench(Path(d)) as b:
            if "campaign" in only:
                r = results["campaign"] = await b.campaign(args.recipients)
                print(f"campaign: {r['recipients']} recipients written in {r['created_s']:.2f} s; every invitation "
                      f"rendered and handed to the mailer after {r['delivered_s']:.2f} s "
                      f"({r['mails_per_s']:.0f} mails/s)")
            if "submit" in only:
                r = results["submit"] = await b.submit_load(args.submissions, args.concurrency)
                print(f"submit: {r['submissions']} submissions, {r['concurrency']} concurrent: {r['per_s']:.0f}/s, "
                      f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, errors {r['errors']}, "
                      f"lanes through the graph {r['lanes_done']} ({r['all_done_per_s']:.0f}/s until the last one); "
                      f"first fifth {r['first_fifth_per_s']:.0f}/s, last fifth {r['last_fifth_per_s']:.0f}/s")
            if "resume" in only:
                r = results["resume"] = await b.resume_latency(args.waiting, args.samples)
                print(f"resume: {r['waiting']} waiting requests (set up in {r['setup_s']:.0f} s): submit-to-lane-done "
                      f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms over {r['samples']} submissions "
                      f"({r['lanes_done']} lanes done; p50 of the first tenth {r['first_p50_ms']:.1f} ms, of the "
                      f"last tenth {r['last_p50_ms']:.1f} ms); RSS {r['rss_before_mb']:.0f} → {r['rss_waiting_mb']:.0f} → "
                      f"{r['rss_after_mb']:.0f} MB")
    if "import" in only:
        r = results["import"] = bulk(args.rows, args.import_workers)
        (before, _, _), (after, _, _) = r["load"]
        print(f"import: {r['rows']} CSV rows ({r['file_mb']:.0f} MB, {r['bad']} bad) validated in "
              f"{r['seconds']:.1f} s: {r['rows_per_s']:.0f} rows/s, peak RSS {r['peak_rss_mb']:.0f} MB "
              f"(workers: each at most {r['worker_peak_rss_mb']:.0f} MB, together at most {r['workers_rss_mb']:.0f} MB PSS); "
              f"CPU {r['cpu_s']:.1f} s in the reading process + "
              f"{r['worker_cpu_s']:.1f} s in workers; load average {before:.2f} before, {after:.2f} after")
    print("\n| measure | figure | DESIGN §12 target |\n|---|---|---|")
    if "campaign" in results:
        r = results["campaign"]
        print(f"| campaign of {r['recipients']:,} recipients | written {r['created_s']:.2f} s, all invitations "
              f"{r['delivered_s']:.1f} s | — |")
    if "submit" in results:
        r = results["submit"]
        print(f"| submissions with validation and run resume | {r['per_s']:.0f}/s (p99 {r['p99_ms']:.0f} ms) "
              f"| ≥ 1,000/s |")
    if "resume" in results:
        r = results["resume"]
        print(f"| resume latency, {r['waiting']:,} waiting | p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms "
              f"| < 100 ms |")
    if "import" in results:
        r = results["import"]
        print(f"| bulk import of {r['rows']:,} rows | {r['seconds']:.1f} s ({r['rows_per_s']:,.0f} rows/s), "
              f"peak RSS {r['peak_rss_mb']:.0f} MB (+ workers {r['workers_rss_mb']:.0f} MB PSS) | < 10 s, bounded |")


if __name__ == "__main__":
    asyncio.run(main())
