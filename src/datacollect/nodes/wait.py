"""Wait: pause the lane for a duration, until a time, or until a call to the run's resume URL.

Nothing is held while waiting: the activation is a row with a timer (``wake_at``) or an
event key, woken within a second of its time by the scheduler, also after a restart.
With ``continue_condition: webhook`` the lane goes on when someone calls
``POST /webhook-waiting/<run id>`` (``{{ run.resume_url }}`` in any template); the call's
body is added to each item as ``webhook``. ``duration`` is then the longest wait; when it
passes the items go on with ``timed_out: true``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from datacollect.engine.expressions import compile_expression
from datacollect.nodes.base import (
    Expression,
    Items,
    Node,
    NodeConfig,
    NodeContext,
    NodeError,
    Output,
    Suspend,
    Template,
    WakeEvent,
)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIMPLE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.I)
_ISO = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.I)


def parse_duration(value: str | float | int) -> float:
    """Seconds from 90, '90s', '15m', '2h', '3d', '1w' or ISO 8601 'P1DT2H'."""
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    m = _SIMPLE.match(value)
    if m:
        return float(m.group(1)) * _UNITS[(m.group(2) or "s").lower()]
    m = _ISO.match(value.strip())
    if m and any(m.groups()):
        w, d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        return w * 604800 + d * 86400 + h * 3600 + mi * 60 + s
    raise ValueError(f"'{value}' is not a duration: use seconds, '15m', '2h', '3d', '1w' or ISO 8601 like 'P1DT2H'")


class Wait(Node):
    type = "Wait"
    category = "logic"
    description = "Pause for a while, until a date, or until an outside system calls back."
    icon = "hourglass"
    waits = True

    class Config(NodeConfig):
        duration: str | float | None = Field(
            None, description="How long to wait: seconds, or '15m', '2h', '3d', '1w', 'P1DT2H'. "
                              "With the webhook condition: the longest wait.")
        until: Template | None = Field(None, description="Wait until this date and time (ISO 8601, may be a "
                                                         "template such as {{ item.due_date }}).")
        continue_condition: Literal["time", "webhook"] = Field(
            "time", description="Go on when the time comes, or when the run's resume URL is called.")
        condition: Expression | None = Field(
            None, description="With the webhook condition: go on only when this holds for the call "
                              "(e.g. event.status == 'approved'); other calls are ignored.")

        @field_validator("duration")
        @classmethod
        def _duration(cls, v: Any) -> Any:
            if v is not None:
                parse_duration(v)
            return v

        @model_validator(mode="after")
        def _something(self) -> Wait.Config:
            if self.continue_condition == "time" and self.duration is None and not self.until:
                raise ValueError("set a duration or an 'until' time to wait for")
            return self

    async def run(self, ctx: NodeContext, items: Items) -> Output | Suspend:
        cfg = self.config
        wake_at = None
        if cfg.until:
            raw = ctx.render(cfg.until, items[0] if items else None)
            try:
                wake_at = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
            except ValueError:
                raise NodeError(f"'until' gave {raw!r}, which is not a date and time (ISO 8601)") from None
            if wake_at.tzinfo is None:
                wake_at = wake_at.replace(tzinfo=UTC)
        elif cfg.duration is not None:
            wake_at = ctx.now() + timedelta(seconds=parse_duration(cfg.duration))
        wait_for = f"wait:{ctx.run_id}" if cfg.continue_condition == "webhook" else None
        if wake_at is not None and wait_for is None and wake_at <= ctx.now():
            return {"main": items}
        return Suspend(wake_at=wake_at, wait_for=wait_for,
                       state={"items": items, "wake_at": wake_at.isoformat() if wake_at else None})

    async def resume(self, ctx: NodeContext, state: dict[str, Any], event: WakeEvent) -> Output | Suspend:
        items = state.get("items") or [{}]
        if event.kind == "timer":
            if self.config.continue_condition == "webhook":
                return {"main": [{**it, "timed_out": True} for it in items]}
            return {"main": items}
        payload = event.payload
        if self.config.condition:
            scope = dict(ctx.scope)
            scope["event"] = payload if payload is not None else {}
            if not compile_expression(self.config.condition)(scope):
                return Suspend(wake_at=_wake(state), wait_for=f"wait:{ctx.run_id}", state=state)
        return {"main": [{**it, "webhook": payload} for it in items]}


def _wake(state: dict[str, Any]) -> datetime | None:
    raw = state.get("wake_at")
    return datetime.fromisoformat(raw) if raw else None
