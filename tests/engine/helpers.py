"""Helpers for engine tests: save a workflow, read a run back, and a few test-only nodes."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field

from datacollect.db import workflows as wf_service
from datacollect.engine.types import WakeEvent
from datacollect.errors import NodeError, RetryableNodeError
from datacollect.nodes.base import Items, Node, NodeConfig, NodeContext, Output, Suspend


def save(platform: Any, definition: dict[str, Any]) -> None:
    with platform.db.write() as s:  # the write lock at BEGIN: a read first would not wait for it
        if s.get(wf_service.Workflow, definition["id"]):
            wf_service.update_workflow(s, definition["id"], definition, platform.registry, "test")
        else:
            wf_service.create_workflow(s, definition, platform.registry, "test")
    platform.invalidate_routes()


def run_row(platform: Any, run_id: str) -> dict[str, Any]:
    with platform.store.transaction() as tx:
        run = tx.get_run(run_id)
        assert run is not None
        run["acts"] = {(a["node_id"], a["lane"]): a for a in tx.find_activations(run_id)}
        return run


def wf(id_: str, nodes: list[dict[str, Any]], edges: list[tuple] | list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    es = []
    for e in edges:
        if isinstance(e, dict):
            es.append(e)
        else:
            d = {"from": e[0], "to": e[1]}
            if len(e) > 2:
                d["condition"] = e[2]
            es.append(d)
    return {"id": id_, "name": id_, "nodes": nodes, "edges": es, **kw}


def node(id_: str, type_: str, **config: Any) -> dict[str, Any]:
    extra = {k: config.pop(k) for k in ("retry", "on_error") if k in config}
    return {"id": id_, "type": type_, "config": config, **extra}


CALLS: dict[str, int] = {}


class Flaky(Node):
    """Fails the first ``failures`` attempts of each activation (test only)."""

    type = "TestFlaky"
    category = "transform"

    class Config(NodeConfig):
        failures: int = 1
        retryable: bool = True
        name: str = "flaky"

    async def run(self, ctx: NodeContext, items: Items) -> Output:
        key = f"{self.config.name}:{ctx.idempotency_key}"
        CALLS[key] = CALLS.get(key, 0) + 1
        if CALLS[key] <= self.config.failures:
            cls = RetryableNodeError if self.config.retryable else NodeError
            raise cls(f"failure {CALLS[key]} of {self.config.failures}")
        return {"main": [{**it, "attempt": ctx.attempt} for it in items]}


class Emitter(Node):
    """Waits for events ``emit:<run id>`` and sends each one down a lane of its own; ends on
    an event with ``{"end": true}`` (test stand-in for SendForm's each_response)."""

    type = "TestEmitter"
    category = "collection"
    waits = True

    class Config(NodeConfig):
        note: str = Field("", description="unused")

    async def run(self, ctx: NodeContext, items: Items) -> Suspend:
        return Suspend(wait_for=f"emit:{ctx.run_id}", state={"n": 0})

    async def resume(self, ctx: NodeContext, state: dict[str, Any], event: WakeEvent) -> Output | Suspend:
        payload = event.payload or {}
        if payload.get("end"):
            return {"main": []}
        return Suspend(wait_for=f"emit:{ctx.run_id}", state={"n": state["n"] + 1}, emit={"main": [payload]})


class Collect(Node):
    """Passes items on and remembers them per run (test only)."""

    type = "TestCollect"
    category = "output"
    side_effects = True
    SEEN: dict[str, list[Any]] = {}

    class Config(NodeConfig):
        tag: str = "c"

    async def run(self, ctx: NodeContext, items: Items) -> Output:
        Collect.SEEN.setdefault(ctx.run_id, []).append({"lane": ctx.lane, "items": items, "key": ctx.idempotency_key})
        return {"main": items}


class Slow(Node):
    """Takes ``seconds`` and counts its executions per run (test only; has side effects, so its
    activation is stored under a lease before it runs)."""

    type = "TestSlow"
    category = "output"
    side_effects = True
    RAN: dict[str, int] = {}

    class Config(NodeConfig):
        seconds: float = 0.5

    async def run(self, ctx: NodeContext, items: Items) -> Output:
        Slow.RAN[ctx.run_id] = Slow.RAN.get(ctx.run_id, 0) + 1
        await asyncio.sleep(self.config.seconds)
        return {"main": items}


TEST_NODES = [Flaky, Emitter, Collect, Slow]
