"""Loop: run a sub-workflow for each item (or batch of items) and gather the results.

The sub-workflow (``iteration_body``, a workflow id) is started as child runs, at most
``concurrency`` at a time; the Loop waits without holding a worker and is woken as each
child ends. Each child's result goes out of the ``item`` port in its own lane as soon as it
is known; when all have ended, every result goes out of ``done`` together, in input order.
A child that fails gives a result with ``error`` (and ``ok: false``).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from datacollect.nodes.base import (
    Expression,
    Items,
    Node,
    NodeConfig,
    NodeContext,
    NodeError,
    Output,
    Suspend,
    WakeEvent,
)


class Loop(Node):
    type = "Loop"
    category = "logic"
    description = "Run a sub-workflow for each item or batch, a few at a time, and gather the results."
    icon = "repeat"
    ports = ("item", "done")
    lane_ports = ("item",)
    waits = True

    class Config(NodeConfig):
        iteration_body: str = Field(description="Id of the workflow to run for each item (its trigger gets "
                                                "the item, or {items: [...]} for a batch).")
        items_source: Expression | None = Field(
            None, description="Where the items come from (an expression giving a list, e.g. "
                              "trigger.suppliers); by default the items coming in.")
        batch_size: int = Field(0, ge=0, le=10000, description="0: one run per item; N: one run per N items.")
        concurrency: int = Field(5, ge=1, le=500, description="Most sub-workflow runs at the same time.")

    async def run(self, ctx: NodeContext, items: Items) -> Output | Suspend:
        cfg = self.config
        source: Any = items
        if cfg.items_source:
            source = ctx.evaluate(cfg.items_source, items[0] if items else None)
            if not isinstance(source, list):
                raise NodeError(f"items_source gave {type(source).__name__}, not a list")
        units: list[Any] = list(source)
        if cfg.batch_size:
            units = [{"items": units[i:i + cfg.batch_size]} for i in range(0, len(units), cfg.batch_size)]
        units = [u if isinstance(u, dict) else {"value": u} for u in units]
        if not units:
            return {"done": []}
        if ctx.services.subruns is None:
            raise NodeError("Loop needs the engine's sub-run service, which is not available here")
        state = {"units": units, "next": 0, "running": {}, "results": [None] * len(units), "left": len(units)}
        await self._start_more(ctx, state)
        return Suspend(wait_for=self._key(ctx), state=state)

    def _key(self, ctx: NodeContext) -> str:
        return f"loop:{ctx.idempotency_key}"

    async def _start_more(self, ctx: NodeContext, state: dict[str, Any]) -> None:
        while len(state["running"]) < self.config.concurrency and state["next"] < len(state["units"]):
            i = state["next"]
            child = await ctx.services.subruns.start_child(  # type: ignore[union-attr]
                self.config.iteration_body, state["units"][i], parent_run_id=ctx.run_id,
                notify=self._key(ctx), idempotency_key=f"{ctx.idempotency_key}/{i}")
            state["running"][child] = i
            state["next"] = i + 1

    async def resume(self, ctx: NodeContext, state: dict[str, Any], event: WakeEvent) -> Output | Suspend:
        payload = event.payload or {}
        child = payload.get("run_id")
        i = state["running"].pop(child, None)
        if i is None:  # not one of ours, or told twice
            return Suspend(wait_for=self._key(ctx), state=state)
        ok = payload.get("status") == "completed"
        result = {"index": i, "run_id": child, "ok": ok, "status": payload.get("status"),
                  "items": payload.get("output") or [], **({"error": payload.get("error")} if not ok else {})}
        state["results"][i] = result
        state["left"] -= 1
        await self._start_more(ctx, state)
        if state["left"] == 0:
            return {"done": state["results"], "item": [result]}
        return Suspend(wait_for=self._key(ctx), state=state, emit={"item": [result]})
