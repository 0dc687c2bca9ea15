"""The Celery application of the distributed shape, configured for no loss (DESIGN §13).

A message names one ready activation; it is a hint, never the truth. The database is the
truth: a worker takes an activation by lease (``UPDATE ... WHERE status='ready'``) and does
nothing for one that is not ready, so a message delivered twice, late, or after another worker
did the work is harmless; the scheduler sends again what a lost message left ready.

How it is configured, and why:

* ``task_acks_late``: a message is acknowledged once its activation ran, so a worker that dies
  mid-step leaves its messages unacknowledged and Redis hands them to another worker after
  ``visibility_timeout`` (DATACOLLECT_VISIBILITY_TIMEOUT, above the longest node).
* ``task_reject_on_worker_lost``: a pool process killed mid-step gives its message back at once.
* ``worker_prefetch_multiplier`` (DATACOLLECT_WORKER_PREFETCH): reserved messages are
  unacknowledged too, so they come back when their worker dies.
* no result backend: runs and activations in the database are the results.
* the broker connection is retried for ever; a long task is never cancelled because the
  broker went away (it finishes and commits; its acknowledgement may be lost, and the
  redelivered message then finds nothing ready).
* queues ``datacollect.<name>``: ``default`` for most nodes, and the queues of
  DATACOLLECT_NODE_QUEUES (``slow`` for APICall, ERPExport, SendEmail) so that slow nodes can
  be given workers of their own.

Operators may point Celery's own tools at this module (``celery -A
datacollect.worker.celery_app inspect active``): ``app`` is built from the environment.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from celery import Celery, bootsteps
from kombu import Queue

from datacollect.config import Settings, get_settings

TASK = "datacollect.execute"
PREFIX = "datacollect."


def queue_name(short: str) -> str:
    """The broker's name of a queue: ``default`` -> ``datacollect.default``."""
    return short if short.startswith(PREFIX) else PREFIX + short


def queues_of(settings: Settings) -> list[str]:
    """Every queue an activation may be sent to (short names)."""
    names = ["default", *settings.node_queues.values(), *split_queues(settings.worker_queues)]
    return list(dict.fromkeys(names))


def split_queues(value: str) -> list[str]:
    return [q.strip().removeprefix(PREFIX) for q in value.split(",") if q.strip()]


def make_celery(settings: Settings) -> Celery:
    """The Celery app for these settings, with the execute task registered."""
    if not settings.redis_url:
        raise ValueError("DATACOLLECT_REDIS_URL is not set: the distributed shape needs Redis "
                         "(e.g. redis://127.0.0.1:6379/0)")
    app = Celery("datacollect", broker=settings.redis_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=max(1, settings.worker_prefetch),
        task_ignore_result=True,
        result_backend=None,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=queue_name("default"),
        task_queues=[Queue(queue_name(q), routing_key=queue_name(q)) for q in queues_of(settings)],
        task_create_missing_queues=True,
        broker_transport="datacollect.worker.transport:Transport",  # reconnects where kombu's would stop
        broker_connection_retry_on_startup=True,
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            # look for messages of dead workers every 10 s (they come back after the timeout)
            "unacked_restore_interval": 10,
            "unacked_restore_throttle": 1,
            "socket_timeout": 10,
            "socket_connect_timeout": 5,
            "socket_keepalive": True,
            "health_check_interval": 10,
            "retry_on_timeout": True,
        },
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_lost_wait=10.0,
    )
    from datacollect.worker.tasks import register

    register(app, settings)
    return app


def worker_argv(settings: Settings, *, pool: str = "prefork", loglevel: str = "INFO",
                name: str | None = None) -> list[str]:
    """The arguments of ``celery worker`` for a ``datacollect worker``."""
    queues = ",".join(queue_name(q) for q in split_queues(settings.worker_queues))
    concurrency = settings.worker_concurrency or os.cpu_count() or 1
    return ["worker", f"--loglevel={loglevel}", f"--pool={pool}", f"--concurrency={concurrency}",
            f"--queues={queues}", f"--hostname={name or 'datacollect@%h'}", "--without-gossip",
            "--without-mingle"]


class Heartbeat(bootsteps.StartStopStep):
    """Touches a file every few seconds from the worker's main loop, for a liveness probe
    (``datacollect probe worker``): a worker whose loop is stuck stops touching it."""

    requires = {"celery.worker.components:Timer"}
    path: Path | None = None
    every = 5.0

    def __init__(self, parent: Any, **kw: Any) -> None:
        super().__init__(parent, **kw)
        self.tref: Any = None

    def start(self, parent: Any) -> None:
        if self.path is None:
            return
        touch(self.path)
        self.tref = parent.timer.call_repeatedly(self.every, touch, (self.path,), priority=10)

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()


def touch(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        pass


def age_of(path: Path) -> float | None:
    """Seconds since ``path`` was touched; None when it does not exist."""
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return None


def __getattr__(name: str) -> Any:  # ``celery -A datacollect.worker.celery_app`` reads ``app``
    if name == "app":
        return make_celery(get_settings())
    raise AttributeError(name)
