"""The Celery dispatcher: sends ready activations to the workers' queues, and tells waiting
callers in other processes that a run settled.

``dispatch`` never blocks the caller: ids go into an outbox that a background thread
publishes, one message per activation, to the queue of the activation's node type
(DATACOLLECT_NODE_QUEUES, else ``default``). While Redis is away the thread keeps the ids and
tries again every second; ids it could not send before its process ended are still ready in the
database, and the scheduler's reconciler sends them again after DATACOLLECT_RECONCILE_AFTER
seconds. So a message is only ever late, never needed for correctness.

Settled runs are announced on a Redis channel; each API process listens to it and answers the
callers waiting for those runs (a webhook that responds with the run's result), which would
otherwise notice only by polling the database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from datacollect.config import Settings
from datacollect.db.models import Activation, Run
from datacollect.engine.runner import Dispatcher, Runner
from datacollect.observability.tracing import carrier

log = logging.getLogger("datacollect.dispatch")

A = Activation.__table__
R = Run.__table__
MAX_KEPT = 200_000  # ids kept while Redis is away; beyond that the reconciler sends them


def settled_channel(redis_url: str) -> str:
    """Pub/sub channels are shared by every database of a Redis server: name ours after the database."""
    db = make_url(redis_url).database or "0"
    return f"datacollect:{db}:settled"


class CeleryDispatcher(Dispatcher):
    """Sends ready activations to Celery. ``inflight`` is always empty: the queue holds them."""

    def __init__(self, app: Any, settings: Settings, platform: Any) -> None:
        from datacollect.worker.celery_app import TASK, queue_name, queues_of

        self.app = app
        self.task = TASK
        self.queue_name = queue_name
        self.platform = platform
        self.runner: Runner = platform.runner
        self.node_queues = dict(settings.node_queues)
        self.queues = queues_of(settings)
        self.redis_url = str(settings.redis_url)
        self.channel = settled_channel(self.redis_url)
        self.inflight: set[str] = set()
        self._traces: dict[str, dict[str, str]] = {}
        self.sent = 0
        self._outbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._busy = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._redis: Any = None
        self._warned = 0.0
        self.runner.dispatcher = self

    # -- the engine's side ---------------------------------------------------------------
    def queue_of(self, node_type: str) -> str:
        return self.node_queues.get(node_type, "default")

    def dispatch(self, activation_ids: list[str]) -> None:
        if activation_ids:
            trace = carrier()  # the caller's trace goes with the message, for the worker's node spans
            if trace:
                for aid in activation_ids:
                    self._traces[aid] = trace
            self._outbox.put(("ids", list(activation_ids)))
            self._ensure_thread()

    def announce_settled(self, run: dict[str, Any]) -> None:
        self._outbox.put(("settled", {"id": run["id"], "status": run["status"]}))
        self._ensure_thread()

    def backlog(self) -> int | None:
        """Messages waiting in the queues or reserved by workers (None when Redis is away): the
        reconciler does not send again what may still be among them."""
        try:
            pipe = self._client().pipeline(transaction=False)
            for q in self.queues:
                pipe.llen(self.queue_name(q))
            pipe.hlen("unacked")
            return int(sum(pipe.execute()))
        except Exception:
            self._redis = None
            return None

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until the outbox is sent (at shutdown)."""
        deadline = time.monotonic() + timeout
        while (not self._outbox.empty() or self._busy) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    def close(self) -> None:
        self._stop.set()
        self._outbox.put(("stop", None))
        if self._thread is not None:
            self._thread.join(5)

    # -- the publishing thread -------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._serve, name="datacollect-dispatch", daemon=True)
            self._thread.start()

    def _serve(self) -> None:
        kept: list[str] = []
        while not self._stop.is_set():
            try:
                first = self._outbox.get(timeout=1.0 if kept else None)
            except queue.Empty:
                first = None
            batch = [first] if first is not None else []
            while len(batch) < 2000:
                try:
                    batch.append(self._outbox.get_nowait())
                except queue.Empty:
                    break
            self._busy = True
            try:
                ids = kept + [i for kind, v in batch if kind == "ids" for i in v]
                settled = [v for kind, v in batch if kind == "settled"]
                kept = []
                if ids:
                    try:
                        self._publish(ids)
                    except Exception as exc:
                        kept = list(dict.fromkeys(ids))[-MAX_KEPT:]
                        self._warn(f"could not send {len(kept)} activation(s) to the workers, trying again: {exc}")
                        time.sleep(1.0)
                if settled:
                    self._announce(settled)
            finally:
                self._busy = False

    def _warn(self, message: str) -> None:
        if time.monotonic() - self._warned > 10:
            self._warned = time.monotonic()
            log.warning(message)

    def _routes(self, ids: list[str]) -> dict[str, list[str]]:
        """Activation ids per queue, by their node's type."""
        if not self.node_queues:
            return {"default": ids}
        with self.platform.db.engine.connect() as c:
            rows = c.execute(select(A.c.id, A.c.node_id, R.c.version_id).join(R, R.c.id == A.c.run_id)
                             .where(A.c.id.in_(ids))).all()
        out: dict[str, list[str]] = {}
        for aid, node_id, version_id in rows:
            cw = self.runner._compiled.get(version_id)
            if cw is None:
                with self.runner.store.transaction() as tx:
                    cw = self.runner.compiled(tx, version_id)
            cn = cw.nodes.get(node_id)
            out.setdefault(self.queue_of(cn.type) if cn else "default", []).append(aid)
        return out

    def _publish(self, ids: list[str]) -> None:
        groups = self._routes(ids)
        with self.app.producer_or_acquire() as producer:
            for q, qids in groups.items():
                name = self.queue_name(q)
                for aid in qids:
                    trace = self._traces.pop(aid, None)
                    self.app.send_task(self.task, args=[[aid]], kwargs={"trace": trace} if trace else None,
                                       queue=name, routing_key=name, producer=producer, retry=False,
                                       ignore_result=True)
                    self.sent += 1

    def _client(self) -> Any:
        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(self.redis_url, socket_timeout=5, socket_connect_timeout=2)
        return self._redis

    def _announce(self, settled: list[dict[str, Any]]) -> None:
        try:
            pipe = self._client().pipeline(transaction=False)
            for s in settled:
                pipe.publish(self.channel, json.dumps(s))
            pipe.execute()
        except Exception as exc:  # callers fall back on reading the database
            self._redis = None
            self._warn(f"could not announce settled runs: {exc}")


class SettledListener:
    """Listens for settled runs announced by the workers and answers this process's waiters."""

    def __init__(self, redis_url: str, runner: Runner, loop: asyncio.AbstractEventLoop) -> None:
        self.redis_url = redis_url
        self.channel = settled_channel(redis_url)
        self.runner = runner
        self.loop = loop
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="datacollect-settled", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(3)

    def _serve(self) -> None:
        import redis

        while not self._stop.is_set():
            try:
                client = redis.Redis.from_url(self.redis_url, socket_timeout=5, socket_connect_timeout=2)
                ps = client.pubsub(ignore_subscribe_messages=True)
                ps.subscribe(self.channel)
                while not self._stop.is_set():
                    msg = ps.get_message(timeout=1.0)
                    if msg and msg.get("type") == "message":
                        data = json.loads(msg["data"])
                        self.loop.call_soon_threadsafe(self.runner.wake_watchers, data["id"], data["status"])
                ps.close()
                client.close()
            except Exception:  # Redis is away: waiters read the database meanwhile
                self._stop.wait(1.0)


def attach(platform: Any) -> CeleryDispatcher:
    """The API's and the scheduler's side: runs are started and woken by sending their ready
    activations to the workers; callers waiting for a run hear of it through Redis."""
    from datacollect.worker.celery_app import make_celery

    settings = platform.settings
    dispatcher = CeleryDispatcher(make_celery(settings), settings, platform)
    platform.runner.hand_off = True
    listener = SettledListener(dispatcher.redis_url, platform.runner, asyncio.get_running_loop())
    listener.start()
    close = dispatcher.close

    def close_all() -> None:
        listener.stop()
        close()

    dispatcher.close = close_all  # type: ignore[method-assign]
    return dispatcher
