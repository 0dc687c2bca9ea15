"""The runner: executes runs as activations (run, node, lane), durably (DESIGN §6).

How a run moves:

* ``start_run`` creates the run and its trigger's activation (completed with the trigger
  items), then drives the graph in this worker.
* After an activation finishes, each successor in the same lane is checked: it becomes
  ``ready`` when every incoming edge's source has finished; edges on a port that produced
  nothing are *skipped*, and a node whose inputs are all skipped is skipped too.
* A ``Suspend`` makes the activation ``waiting``; a timer (``wake_at``) or an event
  (``deliver_event``) makes it ``ready`` again and its ``resume`` runs. ``Suspend.emit``
  starts a new lane ``<lane>.<node>:<n>`` below the waiting one.
* Work is committed in *segments*: everything a worker does in a row is kept in memory and
  written in one transaction, except that before a node with side effects the segment is
  committed and the node's activation is stored as ``running`` under a lease. A worker that
  dies leaves a lease that expires; the activation is taken again and runs with the same
  idempotency key ``run_id/node_id/lane``, so side effects are never doubled.

Every state change goes through ``_set`` (activations) and ``_set_run`` (runs), which check
the transition against the tables below.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from datacollect.engine.definition import (
    CompiledNode,
    CompiledWorkflow,
    RetryPolicy,
    WorkflowDef,
    compile_workflow,
)
from datacollect.engine.expressions import NodeView
from datacollect.engine.ports import Services
from datacollect.engine.store import Row, Store, StoreTx
from datacollect.engine.types import ERROR, MAIN, Suspend, WakeEvent
from datacollect.errors import (
    Conflict,
    DatacollectError,
    ExpressionError,
    InvalidInput,
    NodeError,
    NotFound,
)
from datacollect.nodes.base import NodeContext
from datacollect.nodes.registry import NodeRegistry

log = logging.getLogger("datacollect.engine")

OPEN = frozenset({"pending", "ready", "running", "waiting"})
ACT_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"ready", "running", "skipped", "cancelled"}),
    "ready": frozenset({"running", "cancelled", "skipped"}),
    "running": frozenset({"completed", "failed", "waiting", "ready", "cancelled"}),
    "waiting": frozenset({"ready", "cancelled", "running"}),
    "completed": frozenset({"ready"}),
    "failed": frozenset({"ready"}),
    "cancelled": frozenset({"pending", "ready", "waiting"}),
    "skipped": frozenset(),
}
RUN_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"running", "cancelled", "failed"}),
    "running": frozenset({"waiting", "completed", "failed", "cancelled"}),
    "waiting": frozenset({"running", "completed", "failed", "cancelled"}),
    "failed": frozenset({"running"}),
    "completed": frozenset({"running"}),
    "cancelled": frozenset(),
}
RUN_SETTLED = frozenset({"waiting", "completed", "failed", "cancelled"})


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A random UUID (version 4) as 32 hex digits, what ``uuid.uuid4().hex`` gives, without
    building a UUID object (a short run takes several)."""
    b = bytearray(os.urandom(16))
    b[6] = b[6] & 0x0F | 0x40  # version 4
    b[8] = b[8] & 0x3F | 0x80  # RFC 4122 variant
    return b.hex()


def lane_prefixes(lane: str) -> list[str]:
    """``"0.send:2.x:1"`` -> ``["0.send:2.x:1", "0.send:2", "0"]`` (deepest first)."""
    parts = lane.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


@dataclass
class Act:
    """An activation held in memory while a worker drives its run."""

    id: str
    run_id: str
    node_id: str
    lane: str
    status: str
    attempts: int = 0
    input: Any = None
    output: Any = None
    error: Any = None
    state: Any = None
    event: Any = None
    emitted: int = 0
    item_count: int = 0
    wake_at: datetime | None = None
    wait_for: str | None = None
    lease_until: datetime | None = None
    leased_by: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    new: bool = False
    dirty: set[str] = field(default_factory=set)
    #: what the stored row must still hold for our update to apply (compare-and-set)
    expect: Row | None = None

    COLUMNS = ("id", "run_id", "node_id", "lane", "status", "attempts", "input", "output", "error",
               "state", "event", "emitted", "item_count", "wake_at", "wait_for", "lease_until",
               "leased_by", "started_at", "finished_at", "duration_ms")

    @classmethod
    def from_row(cls, row: Row) -> Act:
        act = cls(**{k: row.get(k) for k in cls.COLUMNS})
        act.expect = {"leased_by": act.leased_by} if act.status == "running" else {"status": act.status}
        return act

    def row(self) -> Row:
        return {k: getattr(self, k) for k in self.COLUMNS}

    def change(self, **values: Any) -> None:
        for k, v in values.items():
            setattr(self, k, v)
        self.dirty.update(values)


class Segment:
    """One worker's view of one run while it drives it; written in one transaction."""

    def __init__(self, run: Row, cw: CompiledWorkflow, token: str, fresh: bool) -> None:
        self.run = run
        self.cw = cw
        self.token = token
        self.fresh = fresh  # the run was created here and nothing of it was handed out
        self.acts: dict[tuple[str, str], Act] = {}
        self.run_dirty: Row = {}
        self.run_new = fresh
        self.queue: deque[Act] = deque()
        self.notify: list[tuple[str, Any]] = []  # events to deliver after commit
        self.dispatch: list[str] = []  # ready activations for the dispatcher after commit
        #: lanes this segment opened (``_emit``) whose activations are all in ``acts``: nothing of
        #: them is stored in a state another worker may take (pending, ready, waiting), so what
        #: ``acts`` holds of them is the whole truth and nothing of them is read from the store
        #: (see ``_disown``). A run of many lanes costs per answer what a run of one lane does.
        self.own: set[str] = set()

    def remember(self, act: Act) -> Act:
        self.acts[(act.node_id, act.lane)] = act
        return act

    def knows(self, lane: str) -> bool:
        """Whether ``acts`` holds everything of the lane (nothing to read from the store)."""
        return self.fresh or lane in self.own


class Dispatcher:
    """Sends ready activations to a worker. The inline dispatcher runs them in this process."""

    def dispatch(self, activation_ids: list[str]) -> None:  # pragma: no cover - protocol
        raise NotImplementedError


class Runner:
    def __init__(self, store: Store, registry: NodeRegistry, services: Services | None = None,
                 *, lease_seconds: float = 300.0, worker_id: str | None = None) -> None:
        self.store = store
        self.registry = registry
        self.services = services or Services()
        self.lease_seconds = lease_seconds
        self.worker_id = worker_id or f"w-{uuid.uuid4().hex[:8]}"
        self.dispatcher: Dispatcher | None = None
        self._compiled: dict[int, CompiledWorkflow] = {}
        #: workflow id -> its current version and whether it is active, briefly cached for the
        #: hot path; ``forget_workflow`` drops an entry at once after a save in this process
        self._current: dict[str, dict[str, Any]] = {}
        self.version_ttl = 1.0
        self._watchers: dict[str, list[asyncio.Future[str]]] = {}
        self.on_run_settled: list[Callable[[Row], None]] = []
        #: around each node execution: (run, activation, node type) -> a context manager giving a
        #: callback told the activation afterwards (the platform's logs, metrics and traces)
        self.watch: Callable[[Row, Act, str], AbstractContextManager[Callable[[Act], None]]] | None = None
        #: distributed shape: runs are started and woken through the dispatcher, not driven here
        self.hand_off = False
        #: distributed shape: the nodes this worker drives itself; the others are handed over
        self.keep_here: Callable[[CompiledNode], bool] | None = None
        #: concurrency limits shared by every worker: ``{"node:ERPExport": 5, "connection:sap": 5}``;
        #: a workflow's ``settings.max_parallel_runs`` limits its runs (see ``_take_run_slot``)
        self.limits: dict[str, int] = {}
        self._held: dict[str, list[str]] = {}  # activation id -> slots it holds
        self._error_runs: list[tuple[str, dict[str, Any]]] = []
        self._results: dict[str, dict[str, Any]] = {}
        #: segments being driven here, whose leases one timer renews (see ``_keep_leases``)
        self._driving: set[Segment] = set()
        self._renewer: asyncio.TimerHandle | None = None
        self._renewer_loop: asyncio.AbstractEventLoop | None = None

    # -- versions ---------------------------------------------------------------------------
    def compiled(self, tx: StoreTx, version_id: int) -> CompiledWorkflow:
        cw = self._compiled.get(version_id)
        if cw is None:
            row = tx.version_by_id(version_id)
            if row is None:
                raise NotFound(f"Workflow version {version_id} does not exist")
            defn = WorkflowDef.model_validate(row["definition"])
            cw = compile_workflow(defn, self.registry, version_id, row["version"])
            self._compiled[version_id] = cw
        return cw

    def take_result(self, run_id: str) -> dict[str, Any] | None:
        """How a run this worker drove to its end ended (status, last node's items, error), once."""
        if len(self._results) > 10000:  # answers nobody came for
            self._results.clear()
        return self._results.pop(run_id, None)

    def current_version(self, workflow_id: str) -> CompiledWorkflow | None:
        """The workflow's current version if it is active (briefly cached, as for starting runs)."""
        wv = self._current.get(workflow_id)
        if wv is None or time.monotonic() - wv["_at"] > self.version_ttl:
            with self.store.transaction() as tx:
                row = tx.workflow_version(workflow_id)
                if row is None:
                    self._current.pop(workflow_id, None)
                    return None
                self.compiled(tx, row["version_id"])
            wv = self._current[workflow_id] = {**row, "_at": time.monotonic()}
        return self._compiled[wv["version_id"]] if wv["active"] else None

    def forget_workflow(self, workflow_id: str | None = None) -> None:
        """A workflow was saved, activated or deleted: start new runs on what is stored now."""
        if workflow_id is None:
            self._current.clear()
        else:
            self._current.pop(workflow_id, None)

    def _token(self) -> str:
        return f"{self.worker_id}:{new_id()[:8]}"

    # -- starting runs ----------------------------------------------------------------------
    async def start_run(self, workflow_id: str, trigger_items: list[dict[str, Any]] | None = None, *,
                        trigger_node: str | None = None, mode: str = "manual", version: int | None = None,
                        pinned: dict[str, list[dict[str, Any]]] | None = None, only_node: str | None = None,
                        parent_run_id: str | None = None, notify: str | None = None,
                        run_id: str | None = None, require_active: bool = False,
                        drive: bool = True) -> str:
        """Create a run and (unless ``drive`` is false) drive it in this worker until it
        settles or reaches a node with side effects that must be committed first."""
        items = trigger_items if trigger_items is not None else [{}]
        if self.hand_off:
            drive = False
        wv = self._current.get(workflow_id) if version is None else None
        if wv is None or time.monotonic() - wv["_at"] > self.version_ttl:
            with self.store.transaction() as tx:
                wv = tx.workflow_version(workflow_id, version)
                if wv is None:
                    raise NotFound(f"Workflow '{workflow_id}' does not exist"
                                   + (f" in version {version}" if version else ""))
                self.compiled(tx, wv["version_id"])
            if version is None:
                self._current[workflow_id] = {**wv, "_at": time.monotonic()}
        if require_active and not wv["active"]:
            raise Conflict(f"Workflow '{workflow_id}' is not active; activate it to use its triggers")
        cw = self._compiled[wv["version_id"]]
        if not cw.triggers and not only_node:
            raise InvalidInput(f"Workflow '{workflow_id}' has no trigger")
        if only_node and only_node not in cw.nodes:
            raise InvalidInput(f"'{only_node}' is not a node of workflow '{workflow_id}'")
        for nid in pinned or {}:
            if nid not in cw.nodes:
                raise InvalidInput(f"Pinned data names '{nid}', which is not a node of this workflow")
        now = utcnow()
        rid = run_id or new_id()
        trig = cw.trigger_for(trigger_node) if cw.triggers else None
        run = {"id": rid, "workflow_id": cw.workflow_id, "version_id": cw.version_id, "version": cw.version,
               "status": "running", "mode": mode, "trigger_node": trig,
               "trigger": items[0] if len(items) == 1 else {"items": items},
               "options": {"pinned": pinned, "only_node": only_node} if (pinned or only_node) else None,
               "error": None, "parent_run_id": parent_run_id, "notify": notify, "retries": 0,
               "created_at": now, "started_at": now, "finished_at": None}
        seg = Segment(run, cw, self._token(), fresh=True)
        if only_node:
            self._start_single(seg, only_node, items, pinned or {}, now)
        else:
            assert trig is not None
            out = pinned.get(trig) if pinned and trig in pinned else items
            t = seg.remember(Act(id=new_id(), run_id=rid, node_id=trig, lane="0", status="completed",
                                 attempts=1, input=None, output={MAIN: out}, item_count=len(out),
                                 started_at=now, finished_at=now, duration_ms=0.0, new=True))
            for other in cw.triggers:
                if other != trig:
                    seg.remember(Act(id=new_id(), run_id=rid, node_id=other, lane="0", status="skipped",
                                     started_at=now, finished_at=now, new=True))
            self._after_finish(seg, t)
        if drive:
            await self._drive(seg)
        else:  # hand the first activations to the dispatcher instead
            for a in seg.queue:
                a.change(status="ready", leased_by=None, lease_until=None, attempts=0, started_at=None)
                seg.dispatch.append(a.id)
            seg.queue.clear()
            seg.fresh = False
            self._flush(seg, final=True)
        return rid

    def _start_single(self, seg: Segment, node_id: str, items: list[dict[str, Any]],
                      pinned: dict[str, list[dict[str, Any]]], now: datetime) -> None:
        """Test one node: its input is the pinned output of its parents, or the given items."""
        cn = seg.cw.nodes[node_id]
        inputs: list[dict[str, Any]] = []
        for e in cn.incoming:
            inputs.extend(pinned.get(e.source, []))
        if not cn.incoming or not inputs:
            inputs = items
        for nid, its in pinned.items():
            if nid != node_id:
                seg.remember(Act(id=new_id(), run_id=seg.run["id"], node_id=nid, lane="0", status="completed",
                                 output={MAIN: its}, item_count=len(its), started_at=now, finished_at=now,
                                 duration_ms=0.0, new=True))
        act = seg.remember(Act(id=new_id(), run_id=seg.run["id"], node_id=node_id, lane="0", status="running",
                               input=inputs, started_at=now, attempts=1, leased_by=seg.token,
                               lease_until=now + timedelta(seconds=self.lease_seconds), new=True))
        seg.run["options"] = {**(seg.run.get("options") or {}), "single": True}
        seg.queue.append(act)

    # -- driving ----------------------------------------------------------------------------
    async def execute(self, activation_ids: Iterable[str]) -> None:
        """Take ready activations by lease and drive their runs (a dispatcher's entry point)."""
        ids = list(activation_ids)
        if not ids:
            return
        token = self._token()
        now = utcnow()
        with self.store.transaction() as tx:
            rows = tx.lease(ids, token, now + timedelta(seconds=self.lease_seconds), now)
            segs = self._segments(tx, rows, token)
        for seg in segs:
            await self._drive(seg)

    def _segments(self, tx: StoreTx, leased: list[Row], token: str) -> list[Segment]:
        """A segment per run of the activations this worker has just leased."""
        by_run: dict[str, list[Row]] = {}
        for r in leased:
            by_run.setdefault(r["run_id"], []).append(r)
        segs = []
        for run_id, acts in by_run.items():
            run = tx.get_run(run_id)
            if run is None or run["status"] in ("cancelled",):
                continue
            seg = Segment(run, self.compiled(tx, run["version_id"]), token, fresh=False)
            for r in acts:
                seg.queue.append(seg.remember(Act.from_row(r)))
            self._take_whole_run(tx, seg, acts)
            if run["status"] in ("waiting", "pending"):
                self._set_run(seg, "running")
            segs.append(seg)
        return segs

    #: a run with at most this many activations may be driven from memory by the worker that
    #: holds all its open activations (see ``_take_whole_run``)
    WHOLE_RUN_LIMIT = 100

    def _take_whole_run(self, tx: StoreTx, seg: Segment, leased: list[Row]) -> None:
        """When the leased activations are all the run has open, nothing else can change the run
        while this worker drives it (no other worker holds a part of it, nothing waits for an
        event or a timer): load the small run whole and drive it from memory, like a run started
        here, instead of reading each node's inputs and successors from the database."""
        snapshot = getattr(tx, "run_snapshot", None)
        rows = snapshot(seg.run["id"], self.WHOLE_RUN_LIMIT) if snapshot is not None else None
        if rows is None:
            return
        mine = {r["id"] for r in leased}
        if any(r["status"] in OPEN and r["id"] not in mine for r in rows):
            return
        for r in rows:
            if (r["node_id"], r["lane"]) not in seg.acts:
                seg.remember(Act.from_row(r))
        seg.fresh = True

    async def _drive(self, seg: Segment) -> None:
        if not self._take_run_slot(seg):
            return
        stop_renewing = self._keep_leases(seg)
        try:
            while seg.queue:
                if seg.run["status"] in ("failed", "cancelled"):
                    break
                act = seg.queue.popleft()
                await self._execute_one(seg, act)
        finally:
            stop_renewing()
            self._flush(seg, final=True)

    def _keep_leases(self, seg: Segment) -> Callable[[], None]:
        """Renew the stored leases of the segments being driven every third of ``lease_seconds``:
        a long node keeps its activation, and a dead worker's lease still runs out. One timer
        serves every segment driven here (a timer per segment cost more than the rest of a
        short run's bookkeeping)."""
        self._driving.add(seg)
        loop = asyncio.get_running_loop()
        if self._renewer is None or self._renewer_loop is not loop:
            self._renewer_loop = loop
            self._renewer = loop.call_later(max(self.lease_seconds / 3, 0.05), self._renew_driven)
        return lambda: self._driving.discard(seg)

    def _renew_driven(self) -> None:
        self._renewer = None
        for seg in list(self._driving):
            self._renew(seg)
        if self._driving and self._renewer_loop is not None:
            self._renewer = self._renewer_loop.call_later(max(self.lease_seconds / 3, 0.05), self._renew_driven)

    def _renew(self, seg: Segment) -> None:
        until = utcnow() + timedelta(seconds=self.lease_seconds)
        held = [a for a in seg.acts.values() if a.status == "running" and a.leased_by == seg.token and not a.new]
        limited = bool(self.limits or _run_limit(seg.cw))
        if not held and not limited:  # nothing of it is stored under this worker's lease
            return
        try:
            with self.store.transaction() as tx:
                if limited:
                    tx.renew_slots([seg.run["id"], *(a.id for a in seg.acts.values() if a.id in self._held)], until)
                for a in held:
                    if tx.update_activation(a.id, {"lease_until": until},
                                            expect={"status": "running", "leased_by": seg.token}):
                        a.lease_until = until
        except Exception:  # the database is away: the lease may run out, delivery is at-least-once
            log.warning("could not renew the leases of run %s", seg.run["id"], exc_info=True)

    async def _execute_one(self, seg: Segment, act: Act) -> None:
        if self.watch is None:
            await self._run_node(seg, act)
            return
        cn = seg.cw.nodes.get(act.node_id)
        with self.watch(seg.run, act, cn.type if cn else "unknown") as done:
            await self._run_node(seg, act)
            done(act)

    async def _run_node(self, seg: Segment, act: Act) -> None:
        cn = seg.cw.nodes.get(act.node_id)
        if cn is None:  # the version was changed under us: cannot happen for a pinned version
            self._fail_run(seg, act, {"message": f"Node '{act.node_id}' is not in version {seg.cw.version}"})
            return
        if act.status != "running":
            now = utcnow()
            self._set(seg, act, "running", leased_by=seg.token, attempts=act.attempts + 1, started_at=now,
                      lease_until=now + timedelta(seconds=self.lease_seconds))
        if self.limits and not self._take_node_slots(seg, act, cn):
            return
        if cn.cls.side_effects and not seg.cw.nodes[act.node_id].definition.disabled:
            # what happened so far is committed before anything leaves the engine
            self._flush(seg)
        if seg.run["status"] in ("failed", "cancelled"):
            return
        pinned = (seg.run.get("options") or {}).get("pinned") or {}
        t0 = time.perf_counter()
        resuming = act.state is not None and act.event is not None
        try:
            if cn.definition.disabled:
                result: Any = {MAIN: list(act.input or [])}
            elif act.node_id in pinned and not resuming:
                result = {MAIN: pinned[act.node_id]}
            else:
                ctx = self._context(seg, act, cn)
                if resuming:
                    ev = act.event or {}
                    result = await cn.node.resume(ctx, act.state or {}, WakeEvent(
                        kind=ev.get("kind", "event"), key=ev.get("key"), payload=ev.get("payload")))
                else:
                    result = await cn.node.run(ctx, list(act.input or []))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure is kept on the activation
            self._on_error(seg, act, cn, exc, (time.perf_counter() - t0) * 1000)
            return
        elapsed = (time.perf_counter() - t0) * 1000
        if isinstance(result, Suspend):
            self._suspend(seg, act, cn, result, elapsed)
            return
        if not isinstance(result, dict):
            self._on_error(seg, act, cn, NodeError(
                f"{cn.type} answered {type(result).__name__}; a node must answer items per port"), elapsed)
            return
        failed = result.get(ERROR)
        if failed and cn.definition.on_error != "route" and not any(e.port == ERROR for e in cn.outgoing):
            # items that failed must not vanish: with nothing connected to the error output,
            # the node's on_error decides (fail the run, or pass them on as error items)
            first = failed[0].get("error") if isinstance(failed[0], dict) else None
            msg = first.get("message") if isinstance(first, dict) else str(first or "failed")
            total = sum(len(v) for v in result.values() if v)
            exc = NodeError(f"{len(failed)} of {total} items failed and the error output is not connected; "
                            f"first: {msg}", details={"failed": failed[:20]})
            if cn.definition.on_error == "continue":
                result = {**result, MAIN: [*(result.get(MAIN) or []), *failed], ERROR: []}
            else:
                self._on_error(seg, act, cn, exc, elapsed)
                return
        self._complete(seg, act, result, elapsed)

    def _context(self, seg: Segment, act: Act, cn: CompiledNode) -> NodeContext:
        scope: dict[str, Any] = {
            "vars": seg.cw.definition.vars,
            "run": {"id": seg.run["id"], "workflow_id": seg.run["workflow_id"], "mode": seg.run["mode"],
                    "version": seg.run["version"], "lane": act.lane,
                    "resume_url": f"{self.services.public_url}/webhook-waiting/{seg.run['id']}"},
            "trigger": _first(seg.run.get("trigger")),
        }
        if self.services.data_sources is not None:
            scope["database"] = _DataSourcesView(self.services.data_sources)
        for src in self._ancestor_acts(seg, cn, act.lane):
            out = src.output or {}
            scope[src.node_id] = NodeView(out.get(MAIN) or next(iter(out.values()), []) if out else [], out)
        trig = scope.get(seg.run.get("trigger_node") or "")
        if isinstance(trig, NodeView) and trig.items:
            scope["trigger"] = trig.items[0]
        return NodeContext(run_id=seg.run["id"], workflow_id=seg.run["workflow_id"], node_id=act.node_id,
                           lane=act.lane, attempt=max(act.attempts, 1), scope=scope, services=self.services,
                           test_mode=seg.run["mode"] == "test", version_id=seg.run["version_id"])

    def _ancestor_acts(self, seg: Segment, cn: CompiledNode, lane: str) -> list[Act]:
        if not cn.ancestors:
            return []
        prefixes = lane_prefixes(lane)
        if not seg.fresh:
            nodes: set[str] = set()
            lanes: set[str] = set()
            for nid in cn.ancestors:
                need = self._unknown(seg, nid, prefixes)
                if need:
                    nodes.add(nid)
                    lanes.update(need)
            if nodes:
                self._load(seg, nodes, sorted(lanes))
        found: list[Act] = []
        for nid in cn.ancestors:
            for p in prefixes:
                a = seg.acts.get((nid, p))
                if a is not None:
                    if a.status == "completed":
                        found.append(a)
                    break
        return found

    # -- outcomes ---------------------------------------------------------------------------
    def _complete(self, seg: Segment, act: Act, result: dict[str, list[Any]], elapsed: float) -> None:
        out = {p: list(v) for p, v in result.items() if v is not None}
        lane_ports = seg.cw.nodes[act.node_id].cls.lane_ports
        emit = {p: out.pop(p) for p in lane_ports if out.get(p)}
        count = sum(len(v) for v in out.values())
        self._set(seg, act, "completed", output=out, item_count=count, error=None, finished_at=utcnow(),
                  duration_ms=round(elapsed, 3), lease_until=None, leased_by=None, state=None, event=None,
                  wake_at=None, wait_for=None)
        if (seg.run.get("options") or {}).get("single"):
            return  # a test of one node: nothing after it runs
        if emit:
            self._emit(seg, act, emit)
        self._after_finish(seg, act)

    def _emit(self, seg: Segment, act: Act, emit: dict[str, list[Any]]) -> None:
        """Send items down the graph in a new lane below the activation's own."""
        n = act.emitted + 1
        act.change(emitted=n)
        now = utcnow()
        child = seg.remember(Act(id=new_id(), run_id=act.run_id, node_id=act.node_id,
                                 lane=f"{act.lane}.{act.node_id}:{n}", status="completed", attempts=1,
                                 output=emit, item_count=sum(len(v) for v in emit.values()),
                                 started_at=now, finished_at=now, duration_ms=0.0, new=True))
        seg.own.add(child.lane)  # a new lane: nothing of it is stored yet
        self._after_finish(seg, child)

    def _suspend(self, seg: Segment, act: Act, cn: CompiledNode, s: Suspend, elapsed: float) -> None:
        if s.wake_at is None and s.wait_for is None:
            self._on_error(seg, act, cn, NodeError(f"{cn.type} asked to wait for nothing"), elapsed)
            return
        self._set(seg, act, "waiting", state=s.state, event=None, wake_at=s.wake_at, wait_for=s.wait_for,
                  lease_until=None, leased_by=None, duration_ms=round(elapsed, 3))
        if s.emit:
            self._emit(seg, act, {p: list(v) for p, v in s.emit.items()})

    def _on_error(self, seg: Segment, act: Act, cn: CompiledNode, exc: BaseException, elapsed: float) -> None:
        err = _error_info(exc)
        policy: RetryPolicy | None = cn.definition.retry
        retryable = isinstance(exc, NodeError) and exc.retryable or isinstance(exc, (TimeoutError, OSError))
        if policy and act.attempts < policy.max_attempts and (policy.retry_on == "all" or retryable) \
                and not isinstance(exc, ExpressionError):
            delay = min(policy.backoff_seconds * policy.backoff_factor ** (act.attempts - 1), policy.max_backoff_seconds)
            if policy.jitter:
                delay *= random.uniform(0.5, 1.0)
            log.info("retrying %s/%s in %.2fs after: %s", act.run_id, act.node_id, delay, err["message"])
            self._set(seg, act, "ready", error={**err, "will_retry": True}, lease_until=None, leased_by=None,
                      wake_at=utcnow() + timedelta(seconds=delay), duration_ms=round(elapsed, 3))
            return
        mode = cn.definition.on_error
        if mode == "fail":
            self._set(seg, act, "failed", error=err, finished_at=utcnow(), duration_ms=round(elapsed, 3),
                      lease_until=None, leased_by=None)
            self._fail_run(seg, act, err)
            return
        items = list(act.input or []) or [{}]
        error_items = [{**it, "error": err} if isinstance(it, dict) else {"item": it, "error": err} for it in items]
        port = MAIN if mode == "continue" else ERROR
        self._set(seg, act, "completed", output={port: error_items}, error=err, item_count=len(error_items),
                  finished_at=utcnow(), duration_ms=round(elapsed, 3), lease_until=None, leased_by=None)
        self._after_finish(seg, act)

    def _fail_run(self, seg: Segment, act: Act, err: dict[str, Any]) -> None:
        self._set_run(seg, "failed", error={**err, "node_id": act.node_id, "lane": act.lane}, finished_at=utcnow())
        seg.queue.clear()
        for a in list(seg.acts.values()):
            if a.status in OPEN and a is not act:
                self._set(seg, a, "cancelled", error={"message": "The run failed", "cancelled_from": a.status})
        seg.run_dirty["_cancel_open"] = True

    # -- readiness --------------------------------------------------------------------------
    def _after_finish(self, seg: Segment, act: Act) -> None:
        """Check the successors of a finished (completed or skipped) activation."""
        cn = seg.cw.nodes[act.node_id]
        targets: list[str] = []
        for e in cn.outgoing:
            if e.target not in targets:
                targets.append(e.target)
        for t in targets:
            self._check_ready(seg, t, act.lane)
            if not seg.knows(act.lane):
                with self.store.transaction() as tx:
                    below = tx.pending_below(seg.run["id"], t, act.lane)
                for r in below:
                    if (t, r["lane"]) not in seg.acts:
                        seg.remember(Act.from_row(r))
                    self._check_ready(seg, t, r["lane"])
            else:
                for (nid, lane), a in list(seg.acts.items()):
                    if nid == t and a.status == "pending" and lane.startswith(act.lane + "."):
                        self._check_ready(seg, t, lane)

    def _find(self, seg: Segment, node_id: str, lane: str) -> Act | None:
        """The node's activation in this lane or the nearest lane above it."""
        prefixes = lane_prefixes(lane)
        if not seg.fresh:
            need = self._unknown(seg, node_id, prefixes)
            if need:
                self._load(seg, [node_id], need)
        for p in prefixes:
            a = seg.acts.get((node_id, p))
            if a is not None:
                return a
        return None

    @staticmethod
    def _unknown(seg: Segment, node_id: str, prefixes: list[str]) -> list[str]:
        """The lanes (deepest first) where the node's activation must be read from the store
        before the nearest one is known: those above the deepest one held, not known whole."""
        out = []
        for p in prefixes:
            if (node_id, p) in seg.acts:
                break
            if p not in seg.own:
                out.append(p)
        return out

    def _load(self, seg: Segment, node_ids: Iterable[str], lanes: list[str]) -> None:
        """Bring stored activations into the segment (those it holds already win)."""
        with self.store.transaction() as tx:
            rows = tx.find_activations(seg.run["id"], list(node_ids), lanes)
        for r in rows:
            if (r["node_id"], r["lane"]) not in seg.acts:
                seg.remember(Act.from_row(r))

    def _check_ready(self, seg: Segment, node_id: str, lane: str) -> None:
        cn = seg.cw.nodes[node_id]
        if cn.node.gathers_lanes and cn.lane_openers:
            self._check_gather(seg, cn, lane)
            return
        live: list[Any] = []
        any_live = False
        for e in cn.incoming:
            src = self._find(seg, e.source, lane)
            if src is None or src.status not in ("completed", "skipped"):
                self._pending(seg, node_id, lane)
                return
            if src.status == "skipped":
                continue
            items = (src.output or {}).get(e.port)
            if items:
                any_live = True
                live.extend(items)
        me = seg.acts.get((node_id, lane)) or (None if seg.fresh else self._find_exact(seg, node_id, lane))
        if me is not None and me.status not in ("pending",):
            return  # already decided (a second source finishing later)
        if any_live and self.keep_here is not None and not self.keep_here(cn):
            self._hand_over(seg, me, node_id, lane, live)
            return
        now = utcnow()
        if any_live:
            if me is None:
                me = seg.remember(Act(id=new_id(), run_id=seg.run["id"], node_id=node_id, lane=lane,
                                      status="running", input=live, leased_by=seg.token, started_at=now, attempts=1,
                                      lease_until=now + timedelta(seconds=self.lease_seconds), new=True))
            else:
                self._set(seg, me, "running", input=live, leased_by=seg.token, started_at=now,
                          attempts=me.attempts + 1, lease_until=now + timedelta(seconds=self.lease_seconds))
            seg.queue.append(me)
        else:
            if me is None:
                me = seg.remember(Act(id=new_id(), run_id=seg.run["id"], node_id=node_id, lane=lane,
                                      status="skipped", started_at=now, finished_at=now, new=True))
            else:
                self._set(seg, me, "skipped", finished_at=now)
            self._after_finish(seg, me)

    def _check_gather(self, seg: Segment, cn: CompiledNode, lane: str) -> None:
        """A gathering node runs once in the fork's lane, with the items of every lane the
        fork opened, when the opener has finished and every lane has reached the node."""
        parts = lane.split(".")
        while len(parts) > 1 and parts[-1].split(":")[0] in cn.lane_openers:
            parts.pop()
        base = ".".join(parts)
        me = seg.acts.get((cn.id, base)) or (None if seg.fresh else self._find_exact(seg, cn.id, base))
        if me is not None and me.status != "pending":
            return
        lanes = [base]
        for opener in sorted(cn.lane_openers):
            op = self._find(seg, opener, base)
            if op is None or op.status not in ("completed", "skipped"):
                self._pending(seg, cn.id, base)
                return
            lanes += [f"{op.lane}.{opener}:{k}" for k in range(1, (op.emitted or 0) + 1)]
        if not seg.fresh:  # the lanes' sources in a few reads, not one read per lane
            sources = sorted({e.source for e in cn.incoming})
            unknown = [ln for ln in lanes if ln not in seg.own and any((s, ln) not in seg.acts for s in sources)]
            for i in range(0, len(unknown), 500):
                self._load(seg, sources, unknown[i:i + 500])
        live: list[Any] = []
        for ln in lanes:
            for e in cn.incoming:
                src = self._find(seg, e.source, ln)
                if src is None or src.status not in ("completed", "skipped"):
                    self._pending(seg, cn.id, base)
                    return
                if src.status == "completed" and src.lane == ln or (ln == base and src.status == "completed"):
                    live.extend((src.output or {}).get(e.port) or [])
        now = utcnow()
        lease = {"leased_by": seg.token, "started_at": now, "lease_until": now + timedelta(seconds=self.lease_seconds)}
        if me is None:
            me = seg.remember(Act(id=new_id(), run_id=seg.run["id"], node_id=cn.id, lane=base, status="pending",
                                  new=True))
        if live:
            self._set(seg, me, "running", input=live, attempts=me.attempts + 1, **lease)
            seg.queue.append(me)
        else:
            self._set(seg, me, "skipped", finished_at=now)
            self._after_finish(seg, me)

    # -- concurrency limits ---------------------------------------------------------------
    def _limit_keys(self, cn: CompiledNode) -> list[str]:
        keys = [f"node:{cn.type}"]
        conn = getattr(cn.node.config, "connection", None)
        if isinstance(conn, str) and "://" not in conn:  # a stored connection, by name
            keys.append(f"connection:{conn}")
        return [k for k in keys if k in self.limits]

    def _take_node_slots(self, seg: Segment, act: Act, cn: CompiledNode) -> bool:
        """Take a slot of each limit the node is under; when one is full, the activation waits
        (ready again after a short pause) without holding a worker."""
        keys = self._limit_keys(cn)
        if not keys or act.id in self._held:
            return True
        now = utcnow()
        until = now + timedelta(seconds=self.lease_seconds)
        with self.store.transaction() as tx:
            got: list[str] = []
            for k in keys:
                if not tx.take_slot(k, act.id, self.limits[k], until, now):
                    for g in got:
                        tx.free_slot(g, act.id)
                    break
                got.append(k)
        if len(got) == len(keys):
            self._held[act.id] = keys
            return True
        self._set(seg, act, "ready", leased_by=None, lease_until=None, attempts=max(act.attempts - 1, 0),
                  wake_at=now + timedelta(seconds=random.uniform(0.2, 1.0)))
        seg.fresh = False  # it is stored ready: another worker may take it
        return False

    def _take_run_slot(self, seg: Segment) -> bool:
        """A workflow's ``settings.max_parallel_runs``: a run holds a slot while it runs (not while
        it waits); a run without one leaves its ready work waiting, without holding a worker."""
        limit = _run_limit(seg.cw)
        if not limit or not seg.queue:
            return True
        now = utcnow()
        with self.store.transaction() as tx:
            if tx.take_slot(f"workflow:{seg.run['workflow_id']}", seg.run["id"], limit,
                            now + timedelta(seconds=self.lease_seconds), now):
                return True
        wake = now + timedelta(seconds=random.uniform(0.2, 1.0))
        for a in seg.queue:
            self._set(seg, a, "ready", leased_by=None, lease_until=None, attempts=max(a.attempts - 1, 0), wake_at=wake)
        seg.queue.clear()
        seg.fresh = False
        self._flush(seg, final=True)
        return False

    def _free_slots(self, seg: Segment, tx: StoreTx) -> None:
        for a in seg.acts.values():
            if a.status != "running" and a.id in self._held:
                for k in self._held.pop(a.id):
                    tx.free_slot(k, a.id)
        if seg.run["status"] in RUN_SETTLED and _run_limit(seg.cw):
            tx.free_slot(f"workflow:{seg.run['workflow_id']}", seg.run["id"])

    def _hand_over(self, seg: Segment, me: Act | None, node_id: str, lane: str, live: list[Any]) -> None:
        """The node runs on other workers (a queue this one does not take): store it ready and
        let the dispatcher send it there after the commit."""
        if me is None:
            me = seg.remember(Act(id=new_id(), run_id=seg.run["id"], node_id=node_id, lane=lane, status="ready",
                                  input=live, new=True))
        else:
            self._set(seg, me, "ready", input=live)
        seg.fresh = False  # another worker may change this run from now on
        seg.dispatch.append(me.id)

    def _find_exact(self, seg: Segment, node_id: str, lane: str) -> Act | None:
        if lane in seg.own:
            return seg.acts.get((node_id, lane))
        with self.store.transaction() as tx:
            rows = tx.find_activations(seg.run["id"], [node_id], [lane])
        return seg.remember(Act.from_row(rows[0])) if rows else None

    def _pending(self, seg: Segment, node_id: str, lane: str) -> None:
        if (node_id, lane) in seg.acts:
            return
        if not seg.fresh and self._find_exact(seg, node_id, lane) is not None:
            return
        seg.remember(Act(id=new_id(), run_id=seg.run["id"], node_id=node_id, lane=lane, status="pending", new=True))

    # -- transitions ------------------------------------------------------------------------
    def _set(self, seg: Segment, act: Act, to: str, **values: Any) -> None:
        if to != act.status and to not in ACT_TRANSITIONS[act.status]:
            raise Conflict(f"Activation {act.node_id}[{act.lane}] cannot go from {act.status} to {to}")
        act.change(status=to, **values)

    def _set_run(self, seg: Segment, to: str, **values: Any) -> None:
        cur = seg.run["status"]
        if to != cur and to not in RUN_TRANSITIONS[cur]:
            raise Conflict(f"Run {seg.run['id']} cannot go from {cur} to {to}")
        seg.run["status"] = to
        seg.run.update(values)
        seg.run_dirty.update(status=to, **values)

    # -- persistence ------------------------------------------------------------------------
    @staticmethod
    def _disown(seg: Segment) -> None:
        """Before a write: a lane that is about to hold an activation another worker may take
        (pending, ready or waiting) is no longer known whole here, nor are the lanes above it
        (whose pending lanes below are looked up); they are read from the store from now on.
        Lanes below it stay known: a worker that takes the activation acts in its own lane and
        on pending activations below it, and a lane holding one of those is not known whole."""
        shared: set[str] = set()
        for a in seg.acts.values():
            if a.status in ("pending", "ready", "waiting"):
                shared.update(lane_prefixes(a.lane))
        if shared:
            seg.own -= shared

    def _flush(self, seg: Segment, final: bool = False) -> None:
        """Write the segment in one transaction; on ``final`` also settle the run's status."""
        if seg.own:
            self._disown(seg)
        new_rows = [a.row() for a in seg.acts.values() if a.new]
        updates = [a for a in seg.acts.values() if not a.new and a.dirty]
        lost: list[Act] = []
        settled: Row | None = None
        with self.store.transaction() as tx:
            if seg.run_new:
                if final:
                    self._settle_status(seg, self._open_counts(seg))
                tx.insert_run(dict(seg.run))
                seg.run_dirty = {}
            else:
                current = tx.get_run(seg.run["id"], lock=True)
                if current is not None and current["status"] == "cancelled" and seg.run["status"] != "cancelled":
                    seg.run["status"] = "cancelled"
                    seg.run_dirty.pop("status", None)
                    seg.queue.clear()
            if new_rows:
                tx.insert_activations(new_rows)
            for a in updates:
                values = {k: getattr(a, k) for k in a.dirty}
                if not tx.update_activation(a.id, values, expect=a.expect):
                    lost.append(a)
            for a in seg.acts.values():
                if a.status == "waiting" and a.wait_for and "wait_for" in a.dirty and a not in lost:
                    tx.lock_key(a.wait_for)
                    ev = tx.take_event(a.wait_for)
                    if ev is not None:  # it arrived before we were waiting for it
                        tx.update_activation(a.id, {"status": "ready", "wake_at": None, "wait_for": None,
                                                    "event": {"kind": "event", "key": a.wait_for,
                                                              "payload": ev["payload"]}})
                        a.status = "ready"
                        seg.dispatch.append(a.id)
            if seg.run_dirty.pop("_cancel_open", False):
                for r in tx.find_activations(seg.run["id"]):
                    if r["status"] in OPEN and (r["node_id"], r["lane"]) not in seg.acts:
                        tx.update_activation(r["id"], {"status": "cancelled", "error": {
                            "message": "The run failed", "cancelled_from": r["status"]}})
            if final and not seg.run_new:
                # a run this worker created and never handed out: its activations are all here
                self._settle_status(seg, self._open_counts(seg) if seg.fresh else tx.open_counts(seg.run["id"]))
            if seg.run_dirty:
                tx.update_run(seg.run["id"], dict(seg.run_dirty))
            if self._held or final and _run_limit(seg.cw):
                self._free_slots(seg, tx)
            if final and seg.run["status"] in RUN_SETTLED:
                settled = dict(seg.run)
                if seg.fresh and seg.run.get("mode") == "webhook":
                    # the caller that waits gets its answer from here, without reading it back
                    self._results[seg.run["id"]] = {"status": seg.run["status"], "error": seg.run.get("error"),
                                                    "output": self._last_output(seg, tx)
                                                    if seg.run["status"] == "completed" else None}
                handler = seg.cw.definition.settings.get("error_workflow")
                if seg.run["status"] == "failed" and handler and seg.run.get("mode") != "error":
                    self._error_runs.append((handler, {"run_id": seg.run["id"], "workflow_id": seg.run["workflow_id"],
                                                       "version": seg.run["version"], "error": seg.run.get("error")}))
                if seg.run.get("notify") and seg.run["status"] in ("completed", "failed", "cancelled"):
                    seg.notify.append((seg.run["notify"], {"run_id": seg.run["id"], "status": seg.run["status"],
                                                           "output": self._last_output(seg, tx),
                                                           "error": seg.run.get("error")}))
        for a in seg.acts.values():
            a.new = False
            a.dirty.clear()
            a.expect = {"leased_by": seg.token} if a.leased_by == seg.token else {"status": a.status}
        seg.run_new = False
        seg.run_dirty = {}
        if any(a.status == "waiting" for a in seg.acts.values()):
            seg.fresh = False  # a waiting activation may now be woken by someone else
        if lost:
            log.warning("%d activation results of run %s were not stored: another worker holds them",
                        len(lost), seg.run["id"])
        if settled is not None:
            self._settled(settled)
        if seg.dispatch:
            ids, seg.dispatch = seg.dispatch, []
            self._dispatch(ids)
        while self._error_runs:
            handler, data = self._error_runs.pop()
            asyncio.get_running_loop().create_task(self._start_error_workflow(handler, data))
        if seg.notify:
            pending, seg.notify = seg.notify, []
            for key, payload in pending:
                asyncio.get_running_loop().create_task(self.deliver_event(key, payload))

    async def _start_error_workflow(self, workflow_id: str, data: dict[str, Any]) -> None:
        """A workflow's settings may name an error workflow: it runs with the failure's details."""
        try:
            await self.start_run(workflow_id, [data], mode="error")
        except DatacollectError as exc:
            log.warning("error workflow %s of run %s could not start: %s", workflow_id, data["run_id"], exc.message)

    def _dispatch(self, ids: list[str]) -> None:
        if self.dispatcher is not None:
            self.dispatcher.dispatch(ids)
        else:
            asyncio.get_running_loop().create_task(self.execute(ids))

    def _settle_status(self, seg: Segment, counts: dict[str, int]) -> None:
        if seg.run["status"] in ("failed", "cancelled"):
            return
        if any(counts.get(s) for s in ("pending", "ready", "running")):
            if seg.run["status"] == "waiting":
                self._set_run(seg, "running")
            return
        if counts.get("waiting"):
            if seg.run["status"] != "waiting":
                self._set_run(seg, "waiting")
        else:
            self._set_run(seg, "completed", finished_at=utcnow())

    def _open_counts(self, seg: Segment) -> dict[str, int]:
        counts: dict[str, int] = {}
        for a in seg.acts.values():
            if a.status in OPEN:
                counts[a.status] = counts.get(a.status, 0) + 1
        return counts

    def _last_output(self, seg: Segment, tx: StoreTx) -> list[Any]:
        """The items of the run's last completed node (what a waiting webhook caller gets)."""
        acts = [a for a in seg.acts.values() if a.status == "completed"] if seg.fresh else \
            [Act.from_row(r) for r in tx.find_activations(seg.run["id"]) if r["status"] == "completed"]
        if not acts:
            return []
        order = {n.id: i for i, n in enumerate(seg.cw.definition.nodes)}
        done = {(a.node_id, a.lane) for a in acts}
        leaves = [a for a in acts if not any((e.target, a.lane) in done
                                             for e in seg.cw.nodes[a.node_id].outgoing)] or acts
        last = max(leaves, key=lambda a: (a.finished_at or datetime.min.replace(tzinfo=UTC),
                                          order.get(a.node_id, 0)))
        out = last.output or {}
        return out.get(MAIN) or next(iter(out.values()), [])

    def _settled(self, run: Row) -> None:
        for fut in self._watchers.pop(run["id"], []):
            if not fut.done():
                fut.set_result(run["status"])
        for cb in self.on_run_settled:
            try:
                cb(run)
            except Exception:  # a listener must not break the engine
                log.exception("run listener failed")

    def wake_watchers(self, run_id: str, status: str) -> None:
        """Another process settled the run: answer whoever waits for it here."""
        for fut in self._watchers.pop(run_id, []):
            if not fut.done():
                fut.set_result(status)

    async def wait_settled(self, run_id: str, timeout: float) -> str | None:
        """Wait until the run completes, fails, is cancelled or waits; None on timeout."""
        with self.store.transaction() as tx:
            run = tx.get_run(run_id)
        if run is None:
            raise NotFound(f"Run '{run_id}' does not exist")
        if run["status"] in RUN_SETTLED:
            return str(run["status"])
        fut: asyncio.Future[str] = asyncio.get_event_loop().create_future()
        self._watchers.setdefault(run_id, []).append(fut)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return await asyncio.wait_for(asyncio.shield(fut), min(0.5, deadline - time.monotonic()))
            except TimeoutError:
                with self.store.transaction() as tx:
                    run = tx.get_run(run_id)
                if run and run["status"] in RUN_SETTLED:
                    return str(run["status"])
        return None

    # -- waking -----------------------------------------------------------------------------
    async def deliver_event(self, key: str, payload: Any = None, *, keep: bool = True) -> int:
        """Wake every activation waiting for ``key``; answers how many were woken. When none
        waits yet and ``keep`` is set, the event is kept for the next activation that waits
        for the key (so an answer that arrives early is never lost)."""
        if self.hand_off and self.dispatcher is not None:
            woken = self._wake_for(key, payload, keep)
            if woken:
                self.dispatcher.dispatch(woken)
            return len(woken)
        # resumed here: woken and leased in one transaction, then driven at once
        token = self._token()
        now = utcnow()
        with self.store.transaction() as tx:
            tx.lock_key(key)
            rows = tx.take_waiting(key, {"kind": "event", "key": key, "payload": payload}, token,
                                   now + timedelta(seconds=self.lease_seconds), now)
            if not rows and keep:
                tx.keep_event(key, payload, now)
            segs = self._segments(tx, rows, token)
        for seg in segs:
            await self._drive(seg)
        return len(rows)

    async def deliver_kept(self, key: str) -> int:
        """Hand the oldest event kept for ``key`` to the activation waiting for it. The event was
        written in the same transaction as the fact it announces (a form answer with its
        response), so a process that stops before this call loses nothing: the next call, or
        the activation when it next waits, takes it. Answers how many activations were woken."""
        token = self._token()
        now = utcnow()
        with self.store.transaction() as tx:
            tx.lock_key(key)
            if not tx.waiting_for(key, limit=1):
                return 0  # the waiter takes it when it next waits (see _flush)
            ev = tx.take_event(key)
            if ev is None:
                return 0
            event = {"kind": "event", "key": key, "payload": ev.get("payload")}
            if self.hand_off and self.dispatcher is not None:
                woken = [r["id"] for r in tx.waiting_for(key)
                         if tx.update_activation(r["id"], {"status": "ready", "event": event, "wake_at": None,
                                                           "wait_for": None}, expect={"status": "waiting"})]
                segs = []
            else:
                rows = tx.take_waiting(key, event, token, now + timedelta(seconds=self.lease_seconds), now)
                woken = [r["id"] for r in rows]
                segs = self._segments(tx, rows, token)
        if self.hand_off and self.dispatcher is not None:
            if woken:
                self.dispatcher.dispatch(woken)
            return len(woken)
        for seg in segs:
            await self._drive(seg)
        return len(woken)

    async def _run_or_hand_off(self, ids: list[str]) -> None:
        if self.hand_off and self.dispatcher is not None:
            self.dispatcher.dispatch(ids)
        else:
            await self.execute(ids)

    def _wake_for(self, key: str, payload: Any, keep: bool) -> list[str]:
        with self.store.transaction() as tx:
            tx.lock_key(key)
            woken = []
            for r in tx.waiting_for(key):
                if tx.update_activation(r["id"], {"status": "ready", "event": {"kind": "event", "key": key,
                                                                              "payload": payload},
                                                  "wake_at": None, "wait_for": None},
                                        expect={"status": "waiting"}):
                    woken.append(r["id"])
            if not woken and keep:
                tx.keep_event(key, payload, utcnow())
        return woken

    def wake_due(self, limit: int = 500) -> list[str]:
        """Make due timers, finished backoffs and expired leases ready; answers their ids."""
        now = utcnow()
        ids: list[str] = []
        with self.store.transaction() as tx:
            for r in tx.due(now, limit):
                if r["status"] == "waiting":
                    ok = tx.update_activation(r["id"], {"status": "ready", "event": {"kind": "timer"},
                                                        "wake_at": None, "wait_for": None},
                                              expect={"status": "waiting"})
                elif r["status"] == "running":  # the lease expired: its worker is gone
                    ok = tx.update_activation(r["id"], {"status": "ready", "leased_by": None, "lease_until": None},
                                              expect={"status": "running", "leased_by": r["leased_by"]})
                else:
                    ok = tx.update_activation(r["id"], {"wake_at": None}, expect={"status": "ready"})
                if ok:
                    ids.append(r["id"])
        return ids

    # -- operator actions -------------------------------------------------------------------
    def cancel_run(self, run_id: str) -> Row:
        with self.store.transaction() as tx:
            run = tx.get_run(run_id, lock=True)
            if run is None:
                raise NotFound(f"Run '{run_id}' does not exist")
            if run["status"] not in ("pending", "running", "waiting"):
                raise Conflict(f"Run '{run_id}' is {run['status']}; only a pending, running or waiting run "
                               "can be cancelled")
            for r in tx.find_activations(run_id):
                if r["status"] in OPEN:
                    tx.update_activation(r["id"], {"status": "cancelled", "leased_by": None, "lease_until": None,
                                                   "error": {"message": "Cancelled", "cancelled_from": r["status"]}})
            now = utcnow()
            tx.update_run(run_id, {"status": "cancelled", "finished_at": now})
            run.update(status="cancelled", finished_at=now)
        self._settled(run)
        return run

    async def retry_run(self, run_id: str, from_node: str | None = None) -> Row:
        """Retry a failed run from its failed node (or any run from ``from_node``), in the same
        run: the stored inputs are used again and idempotency keys stay the same."""
        with self.store.transaction() as tx:
            run = tx.get_run(run_id, lock=True)
            if run is None:
                raise NotFound(f"Run '{run_id}' does not exist")
            cw = self.compiled(tx, run["version_id"])
            acts = tx.find_activations(run_id)
            if from_node is None:
                if run["status"] != "failed":
                    raise Conflict(f"Run '{run_id}' is {run['status']}; name a node to retry from "
                                   "(from_node) or retry a failed run")
                starts = [a for a in acts if a["status"] == "failed"]
            else:
                if from_node not in cw.nodes:
                    raise InvalidInput(f"'{from_node}' is not a node of this workflow")
                if run["status"] in ("running", "pending"):
                    raise Conflict(f"Run '{run_id}' is still {run['status']}; wait for it or cancel it first")
                starts = [a for a in acts if a["node_id"] == from_node and a["input"] is not None]
                if not starts:
                    raise Conflict(f"'{from_node}' never ran in this run, so it has no stored input to retry "
                                   "with; retry from an earlier node")
            if not starts:
                raise Conflict("Nothing in this run failed; name a node to retry from")
            start_nodes = {a["node_id"] for a in starts}
            reset = set().union(*(cw.nodes[n].descendants for n in start_nodes)) - start_nodes
            doomed = [a["id"] for a in acts if a["node_id"] in reset]
            tx.delete_activations(doomed)
            ready = []
            for a in starts:
                tx.update_activation(a["id"], {"status": "ready", "error": None, "output": None, "state": None,
                                               "event": None, "wake_at": None, "wait_for": None,
                                               "finished_at": None, "leased_by": None,
                                               "lease_until": None})
                ready.append(a["id"])
            for a in acts:
                if a["status"] == "cancelled" and a["node_id"] not in reset and a["id"] not in ready:
                    prev = (a.get("error") or {}).get("cancelled_from", "ready")
                    tx.update_activation(a["id"], {"status": "ready" if prev == "running" else prev, "error": None})
                    if prev in ("ready", "running"):
                        ready.append(a["id"])
            tx.update_run(run_id, {"status": "running", "error": None, "finished_at": None,
                                   "retries": (run.get("retries") or 0) + 1})
        await self._run_or_hand_off(ready)
        with self.store.transaction() as tx:
            out = tx.get_run(run_id)
        assert out is not None
        return out


class _DataSourcesView:
    """``database.suppliers`` in expressions: the rows of a named data source."""

    def __init__(self, sources: Any) -> None:
        self._sources = sources

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._sources.names():
            raise AttributeError(f"no data source named '{name}'")
        return self._sources.rows(name)

    def __getitem__(self, name: str) -> Any:
        return self.__getattr__(name)


def _run_limit(cw: CompiledWorkflow) -> int | None:
    """The workflow's ``settings.max_parallel_runs`` (None: no limit)."""
    value = cw.definition.settings.get("max_parallel_runs")
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


def _first(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"items"} and isinstance(value["items"], list):
        return value["items"][0] if value["items"] else {}
    return value if value is not None else {}


def _error_info(exc: BaseException) -> dict[str, Any]:
    info: dict[str, Any] = {"message": str(exc) or type(exc).__name__, "type": type(exc).__name__}
    if isinstance(exc, ExpressionError):
        info["expression"] = exc.expression
    if isinstance(exc, DatacollectError) and exc.details is not None:
        info["details"] = exc.details
    if not isinstance(exc, DatacollectError):
        info["message"] = f"{type(exc).__name__}: {exc}"
    return info
