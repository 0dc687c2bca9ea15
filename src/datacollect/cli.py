"""The command line: ``datacollect up``, ``db upgrade``, ``users create``, ``workflows ...``, ``run``."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from datacollect.config import Settings, get_settings
from datacollect.errors import DatacollectError, DefinitionError

app = typer.Typer(help="datacollect: build, run and watch data collection workflows.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
users_app = typer.Typer(help="Users.", no_args_is_help=True)
wf_app = typer.Typer(help="Workflows: validate, import, export.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(wf_app, name="workflows")
connections_app = typer.Typer(help="Connections: stored credentials.", no_args_is_help=True)
app.add_typer(connections_app, name="connections")
console = Console()
err = Console(stderr=True)


def _fail(message: str, details: Any = None) -> None:
    err.print(f"[red]error:[/red] {message}")
    if isinstance(details, list):
        for d in details:
            where = " ".join(x for x in (d.get("node_id"), d.get("field")) if x) if isinstance(d, dict) else ""
            err.print(f"  - {where + ': ' if where else ''}{d.get('message') if isinstance(d, dict) else d}")
    raise typer.Exit(1)


def _settings(**overrides: Any) -> Settings:
    base = get_settings()
    return base.model_copy(update={k: v for k, v in overrides.items() if v is not None}) if overrides else base


def _load(file: Path) -> Any:
    if not file.exists():
        _fail(f"{file} does not exist")
    text = file.read_text()
    try:
        return yaml.safe_load(text) if file.suffix in (".yaml", ".yml") else json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        _fail(f"{file} is not valid {'YAML' if file.suffix in ('.yaml', '.yml') else 'JSON'}: {exc}")


def _logging(settings: Settings, service: str = "cli") -> None:
    """Logs (text, or JSON lines with DATACOLLECT_LOG_JSON) and, with an OTLP endpoint, traces."""
    from datacollect.observability.logs import configure_logging
    from datacollect.observability.tracing import configure_tracing

    configure_logging(settings.log_json, settings.log_level.upper())
    configure_tracing(settings.otel_endpoint, service)


@app.command()
def up(host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
       port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None) -> None:
    """Start the platform in one process: API, web app, worker pool and scheduler (SQLite by default)."""
    import uvicorn

    from datacollect.api.app import create_app

    settings = _settings(host=host, port=port, executor="inline")
    _logging(settings, "up")
    console.print(f"datacollect on http://{settings.host}:{settings.port}  (data: {settings.data_dir.resolve()}, "
                  f"database: {settings.db_url.split('@')[-1]})")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info",
                access_log=False, loop="uvloop", http="httptools")


def _need_redis(settings: Settings) -> None:
    if not settings.redis_url:
        _fail("DATACOLLECT_REDIS_URL is not set: the distributed shape sends work to the workers through "
              "Redis (e.g. redis://127.0.0.1:6379/0). For one process, use `datacollect up`.")


@app.command()
def api(host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
        port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None) -> None:
    """Serve the API and the web app of the distributed shape: runs go to `datacollect worker` processes
    through Redis; cron and timers are left to `datacollect scheduler`. Run `datacollect db upgrade` first."""
    import uvicorn

    from datacollect.api.app import create_app
    from datacollect.platform import Platform

    settings = _settings(host=host, port=port, executor="celery", scheduler=False)
    _need_redis(settings)
    _logging(settings, "api")
    p = Platform.create(settings, migrate=False, process="api")
    console.print(f"datacollect api on http://{settings.host}:{settings.port}  "
                  f"(database: {settings.db_url.split('@')[-1]}, workers through {settings.redis_url.split('@')[-1]})")
    uvicorn.run(create_app(settings, platform=p, scheduler=False), host=settings.host, port=settings.port,
                log_level="info", access_log=False, loop="uvloop", http="httptools")


@app.command()
def worker(concurrency: Annotated[int | None, typer.Option(
               help="Processes, each running one activation at a time (default: one per core).")] = None,
           queues: Annotated[str | None, typer.Option(
               help="Comma-separated queues to take activations from, e.g. default or slow "
                    "(default: DATACOLLECT_WORKER_QUEUES).")] = None,
           pool: Annotated[str, typer.Option(help="prefork (processes) or solo (this process only).")] = "prefork",
           name: Annotated[str | None, typer.Option(help="Worker name (default datacollect@<host>).")] = None,
           loglevel: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
           heartbeat_file: Annotated[Path | None, typer.Option(
               help="File touched every 5 s for `datacollect probe worker` (default <data dir>/worker.alive).")] = None,
           ) -> None:
    """Run a Celery worker of the distributed shape: takes ready activations from Redis, runs them against
    the database. Stop it with SIGTERM to drain: it finishes what it runs and gives back what it reserved."""
    settings = _settings(executor="celery", worker_concurrency=concurrency, worker_queues=queues)
    _need_redis(settings)
    if pool not in ("prefork", "solo"):
        _fail(f"--pool {pool}: use prefork or solo")
    _logging(settings, "worker")
    if settings.metrics_port:
        from datacollect.db.session import Database
        from datacollect.observability.metrics import prepare_multiprocess, serve_multiprocess

        prepare_multiprocess(settings.data_dir / f"metrics-worker-{os.getpid()}")
        serve_multiprocess(settings.metrics_port, settings.host, Database(settings.db_url))
        console.print(f"worker metrics on http://{settings.host}:{settings.metrics_port}/metrics")
    import warnings

    from celery.exceptions import CPendingDeprecationWarning
    from celery.signals import worker_process_init

    # deliberate: a task running when the broker goes away finishes and commits (celery_app.py)
    warnings.filterwarnings("ignore", category=CPendingDeprecationWarning, module="celery.worker.consumer")

    from datacollect.worker.celery_app import Heartbeat, make_celery, worker_argv

    celery = make_celery(settings)
    Heartbeat.path = heartbeat_file or settings.data_dir / "worker.alive"
    celery.steps["worker"].add(Heartbeat)
    worker_process_init.connect(celery._datacollect_warm_up, weak=False)
    celery.worker_main(worker_argv(settings, pool=pool, loglevel=loglevel, name=name))


@app.command()
def scheduler(heartbeat_file: Annotated[Path | None, typer.Option(
        help="File touched every 5 s for `datacollect probe scheduler` (default <data dir>/scheduler.alive).")] = None,
              ) -> None:
    """Run the scheduler of the distributed shape: cron fires, due timers, expired leases, campaign reminders,
    and the reconciler that sends again ready activations whose message was lost. Several may run at once:
    each cron fire is claimed once in the database."""
    settings = _settings(executor="celery", scheduler=True)
    _need_redis(settings)
    _logging(settings, "scheduler")
    asyncio.run(_scheduler(settings, heartbeat_file or settings.data_dir / "scheduler.alive"))


async def _scheduler(settings: Settings, beat: Path) -> None:
    import signal

    from datacollect.platform import Platform
    from datacollect.worker.celery_app import touch

    p = Platform.create(settings, migrate=False, process="scheduler")
    if settings.metrics_port:
        from datacollect.observability.metrics import serve

        assert p.metrics is not None
        serve(settings.metrics_port, settings.host, p.metrics)
    await p.start(scheduler=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    console.print(f"datacollect scheduler (database: {settings.db_url.split('@')[-1]})")
    try:
        while not stop.is_set():
            touch(beat)
            try:
                await asyncio.wait_for(stop.wait(), 5.0)
            except TimeoutError:
                pass
    finally:
        await p.stop()


@app.command()
def probe(process: Annotated[str, typer.Argument(help="worker or scheduler")],
          heartbeat_file: Annotated[Path | None, typer.Option(
              help="The file the process touches (default <data dir>/<process>.alive).")] = None,
          max_age: Annotated[float, typer.Option(help="Seconds after which the process counts as stuck.")] = 60.0,
          ) -> None:
    """Liveness probe: exit 0 when the worker's or scheduler's heartbeat file was touched within --max-age."""
    from datacollect.worker.celery_app import age_of

    if process not in ("worker", "scheduler"):
        _fail(f"cannot probe {process!r}: probe worker or scheduler (the API has GET /healthz and /readyz)")
    path = heartbeat_file or _settings().data_dir / f"{process}.alive"
    age = age_of(path)
    if age is None or age > max_age:
        _fail(f"{process} is not alive: {path} " + ("does not exist" if age is None else f"is {age:.0f} s old"))
    console.print(f"{process} alive ({age:.1f} s ago)")


@app.command()
def openapi() -> None:
    """Print the API's OpenAPI document (the web app's client is generated from it)."""
    from datacollect.api.app import create_app

    sys.stdout.write(json.dumps(create_app().openapi(), indent=1) + "\n")


@connections_app.command("rotate-key")
def connections_rotate_key(
        generate: Annotated[bool, typer.Option("--generate", help="Print a new key and change nothing.")] = False,
) -> None:
    """Encrypt every stored secret again with the first key of DATACOLLECT_SECRETS_KEY.

    Rotation: put the new key first and keep the old one after it (DATACOLLECT_SECRETS_KEY="new,old"),
    run this command, then remove the old key."""
    from datacollect.integrations.crypto import generate_key

    if generate:
        console.print(generate_key())
        return
    from datacollect.db.migrate import upgrade
    from datacollect.db.session import Database
    from datacollect.integrations.connections import rotate_secrets
    from datacollect.integrations.crypto import SecretBox, parse_keys

    settings = _settings()
    keys = parse_keys(settings.secrets_key)
    if not keys:
        _fail("DATACOLLECT_SECRETS_KEY is not set: set it to \"<new key>,<old key>\" (a new key: "
              "datacollect connections rotate-key --generate)")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.db_url)
    db = Database(settings.db_url)
    from datacollect.security.sensitive import reseal

    try:
        with db.write() as s:
            n = rotate_secrets(s, SecretBox(keys))
            answers = reseal(s, SecretBox(keys))  # sensitive form answers (and any still in clear)
    except DatacollectError as exc:
        _fail(exc.message)
    finally:
        db.dispose()
    console.print(f"{n} secret{'s' if n != 1 else ''} encrypted again with the first key"
                  + ("; the other keys can now be removed" if len(keys) > 1 else ""))
    console.print(f"{answers} stored answer{'s' if answers != 1 else ''} with sensitive fields encrypted with the "
                  "first key")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the newest version."""
    from datacollect.db.migrate import upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.db_url)
    console.print("database is up to date")


@users_app.command("create")
def users_create(email: Annotated[str, typer.Option(help="Login email.")],
                 password: Annotated[str, typer.Option(help="At least 8 characters.")],
                 role: Annotated[str, typer.Option(help="admin, builder, reviewer or viewer.")] = "viewer",
                 name: Annotated[str, typer.Option(help="Display name.")] = "") -> None:
    """Create a user (the first admin, for instance)."""
    from datacollect.platform import Platform
    from datacollect.security.users import create_user

    p = Platform.create(_settings())
    try:
        with p.db.sessions(bind=p.db.writer) as s, s.begin():
            user = create_user(s, email, password, role, actor="cli", name=name)
            console.print(f"created {user.email} ({user.role})")
    except DatacollectError as exc:
        _fail(exc.message)
    finally:
        p.db.dispose()


@wf_app.command("validate")
def wf_validate(file: Path) -> None:
    """Check a workflow file and list every problem."""
    from datacollect.engine.definition import validate_definition
    from datacollect.nodes.registry import default_registry

    try:
        defn = validate_definition(_load(file), default_registry())
    except DefinitionError as exc:
        _fail(exc.message, exc.problems)
    console.print(f"[green]ok[/green] {defn.id}: {len(defn.nodes)} nodes, {len(defn.edges)} edges")


@wf_app.command("import")
def wf_import(file: Path) -> None:
    """Save a workflow file: created, or a new version of the workflow with its id."""
    from datacollect.db import workflows as svc
    from datacollect.platform import Platform

    data = _load(file)
    p = Platform.create(_settings())
    try:
        with p.db.sessions(bind=p.db.writer) as s, s.begin():
            wid = data.get("id") if isinstance(data, dict) else None
            if wid and s.get(svc.Workflow, wid):
                wf = svc.update_workflow(s, wid, data, p.registry, "cli", f"imported from {file.name}")
            else:
                wf = svc.create_workflow(s, data, p.registry, "cli")
            console.print(f"saved {wf.id} version {wf.current_version}")
    except DefinitionError as exc:
        _fail(exc.message, exc.problems)
    except DatacollectError as exc:
        _fail(exc.message)
    finally:
        p.db.dispose()


@wf_app.command("export")
def wf_export(workflow_id: str, version: Annotated[int | None, typer.Option()] = None,
              output: Annotated[Path | None, typer.Option("--output", "-o")] = None) -> None:
    """Print a workflow's definition as JSON (Git-friendly: indented, secrets hidden; importing it
    over the same workflow keeps the stored secrets)."""
    from datacollect.db import workflows as svc
    from datacollect.platform import Platform

    p = Platform.create(_settings())
    try:
        with p.db.sessions() as s:
            wf = svc.get_workflow(s, workflow_id)
            from datacollect.engine.secrets import mask_definition

            d = mask_definition(svc.read_version(s, wf.id, version or wf.current_version).definition, p.registry)
    except DatacollectError as exc:
        _fail(exc.message)
    finally:
        p.db.dispose()
    text = json.dumps(d, indent=2, ensure_ascii=False) + "\n"
    if output:
        output.write_text(text)
    else:
        sys.stdout.write(text)


@app.command("run")
def run(workflow_id: str, data: Annotated[str, typer.Option(help="Trigger data as JSON.")] = "{}",
        timeout: Annotated[float, typer.Option(help="Seconds to wait for the run.")] = 60.0) -> None:
    """Run a workflow here and now, show each node as it runs, then a table of the nodes."""
    try:
        payload = json.loads(data)
    except json.JSONDecodeError as exc:
        _fail(f"--data is not valid JSON: {exc}")
    items = payload if isinstance(payload, list) else [payload]
    asyncio.run(_run(workflow_id, items, timeout))


async def _run(workflow_id: str, items: list[Any], timeout: float) -> None:
    from datacollect.db import runs as run_svc
    from datacollect.platform import Platform

    p = Platform.create(_settings())
    await p.start()
    shown: set[str] = set()

    def show(run_id: str) -> dict[str, Any]:
        with p.db.sessions() as s:
            r = run_svc.read_run(s, run_id, with_data=False)
        for a in r["activations"]:
            key = f"{a['id']}:{a['status']}"
            if key not in shown and a["status"] not in ("pending",):
                shown.add(key)
                colour = {"completed": "green", "failed": "red", "waiting": "yellow", "skipped": "dim"}.get(a["status"], "")
                console.print(f"  {a['node_id']:<24} [{colour}]{a['status']}[/{colour}]" if colour else
                              f"  {a['node_id']:<24} {a['status']}")
        return r

    try:
        console.print(f"running {workflow_id}")
        run_id = await p.runner.start_run(workflow_id, items, mode="manual", drive=False)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        r = show(run_id)
        while r["status"] in ("pending", "running") and loop.time() < deadline:
            await asyncio.sleep(0.1)
            r = show(run_id)
        table = Table(title=f"run {run_id} — {r['status']}")
        for col in ("node", "lane", "status", "items", "attempts", "ms"):
            table.add_column(col)
        for a in r["activations"]:
            table.add_row(a["node_id"], a["lane"], a["status"], str(a["item_count"]), str(a["attempts"]),
                          f"{a['duration_ms']:.1f}" if a["duration_ms"] is not None else "")
        console.print(table)
        if r["status"] == "failed":
            _fail(f"the run failed at {(r['error'] or {}).get('node_id')}: {(r['error'] or {}).get('message')}")
    except DatacollectError as exc:
        _fail(exc.message)
    finally:
        await p.stop()


if __name__ == "__main__":
    app()
