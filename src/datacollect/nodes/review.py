"""Review: put each item in a review queue and wait for a person's decision.

Each incoming item becomes one review item (a form response is recognised by its
``response_id``), assigned by ``assign`` within ``team``, with a priority, an SLA after which
it is escalated (to ``escalate_to``: a user's email or a team's name), and a second approver
when ``four_eyes_if`` holds for it (``item.co2_t > 1000``). The validation ``score`` and
``issues`` a DataValidator gave the item are shown to the reviewer.

The node waits without holding a worker. When every item is decided, the items go out
of ``approved`` and ``rejected`` (each with a ``_review`` field: item id, decision, who, when,
why, comments, approvers; and the values as the reviewer left them, edits included; ERPExport
keeps ``_review`` with the exported record for lineage). ``changes_requested``:

* ``on_changes_requested: wait`` (default): the item goes out of ``changes_requested`` in a
  lane of its own (to tell someone, say) while the node keeps waiting; the respondent's
  answer comes back into the queue, to the same reviewer, and the node goes on once it is
  approved or rejected;
* ``continue``: the item goes out of ``changes_requested`` and the node is done with it. A
  resubmission that reaches this Review again (a FormTrigger run, a SendForm lane) is the
  same review item, back with the same reviewer.

An item whose response is already being reviewed by another waiting activation of this
node is not queued twice: it goes out of no port here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

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
from datacollect.nodes.wait import parse_duration

PRIORITY_NAMES = ("low", "normal", "high", "urgent")
PORTS = ("approved", "rejected", "changes_requested")


class Review(Node):
    type = "Review"
    category = "validate"
    description = "Put items in a review queue and go on when a person approves, rejects or asks for changes."
    icon = "user-check"
    ports = PORTS
    lane_ports = ("changes_requested",)
    waits = True
    side_effects = True  # writes review items: what came before is committed first

    class Config(NodeConfig):
        queue: str | None = Field(None, max_length=100,
                                  description="The queue's name (by default the workflow's id).")
        team: str | None = Field(None, description="The team whose members review (a team's name).",
                                 json_schema_extra={"format": "team"})
        assign: Literal["team", "user", "round_robin", "least_loaded"] = Field(
            "team", description="team: members take items from the team queue; user: one person; round_robin: "
                                "the team's reviewers in turn; least_loaded: whoever has the fewest open items.")
        assignee: Template | None = Field(None, description="For 'user': the reviewer's email (may be a template "
                                                            "such as {{ item.owner_email }}).")
        priority: str | int = Field("normal", description="low, normal, high, urgent (or 0 to 3), or an expression "
                                                         "giving one (item.co2_t > 5000 and 'high' or 'normal').")
        sla: str | float | None = Field(None, description="How long reviewers have ('2d', '8h', 'P1D'); after it the "
                                                         "item is escalated.")
        escalate_to: Template | None = Field(None, description="Who gets an item whose SLA passed: a user's email, "
                                                               "or a team's name.")
        four_eyes_if: Expression | None = Field(
            None, description="When this holds for an item, a second, different person must approve it too "
                              "(e.g. item.co2_t > 1000).")
        title: Template | None = Field(None, description="What the queue shows for an item "
                                                         "({{ item.company_name }}).")
        key: Template | None = Field(None, description="Who or what the item is about, the same across periods "
                                                       "(a supplier id), to compare with last period. Form "
                                                       "responses use the recipient's email.",
                                     json_schema_extra={"x-group": "advanced"})
        score_field: str = Field("score", json_schema_extra={"x-group": "advanced"},
                                 description="The item field with the validation score.")
        issues_field: str = Field("issues", json_schema_extra={"x-group": "advanced"},
                                  description="The item field with the validation issues.")
        on_changes_requested: Literal["wait", "continue"] = Field(
            "wait", description="wait: the resubmission comes back into this review; continue: the item goes on "
                                "out of changes_requested.")

        @field_validator("sla")
        @classmethod
        def _sla(cls, v: Any) -> Any:
            if v is not None:
                parse_duration(v)
            return v

    def check(self) -> list[str]:
        c = self.config
        out = []
        if c.assign == "user" and not c.assignee:
            out.append("'assign: user' needs the reviewer's email in 'assignee'")
        if c.assign in ("round_robin", "least_loaded") and not c.team:
            out.append(f"'assign: {c.assign}' needs a team")
        if isinstance(c.priority, str) and c.priority.strip().lower() not in PRIORITY_NAMES \
                and not c.priority.strip().lstrip("-").isdigit():
            try:
                compile_expression(c.priority)
            except Exception as exc:
                out.append(f"priority: {getattr(exc, 'message', exc)}")
        return out

    # -- run --------------------------------------------------------------------------------
    def _priority(self, ctx: NodeContext, item: dict[str, Any]) -> Any:
        p = self.config.priority
        if isinstance(p, int) or p.strip().lower() in PRIORITY_NAMES or p.strip().lstrip("-").isdigit():
            return p
        return ctx.evaluate(p, item)

    def _entry(self, ctx: NodeContext, i: int, item: Any, key: str) -> dict[str, Any]:
        c = self.config
        it = item if isinstance(item, dict) else {"value": item}
        issues = it.get(c.issues_field)
        score = it.get(c.score_field)
        rid = it.get("response_id")
        return {
            "data": it, "queue": c.queue or ctx.workflow_id, "team": ctx.render(c.team, it) if c.team else None,
            "assign": c.assign, "assignee": str(ctx.render(c.assignee, it)) if c.assignee else None,
            "priority": self._priority(ctx, it),
            "sla_seconds": parse_duration(c.sla) if c.sla is not None else None,
            "escalate_to": str(ctx.render(c.escalate_to, it)) if c.escalate_to else None,
            "four_eyes": bool(ctx.evaluate(c.four_eyes_if, it)) if c.four_eyes_if else False,
            "title": str(ctx.render(c.title, it)) if c.title else _title(it),
            "subject_key": str(ctx.render(c.key, it)) if c.key else None,
            "issues": issues if isinstance(issues, list) else [],
            "score": float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None,
            "response_id": rid if isinstance(rid, str) else None,
            "source": "workflow", "run_id": ctx.run_id, "workflow_id": ctx.workflow_id, "node_id": ctx.node_id,
            "lane": ctx.lane, "origin_key": f"{ctx.idempotency_key}/{i}", "wait_key": key,
            "on_changes": c.on_changes_requested,
        }

    async def run(self, ctx: NodeContext, items: Items) -> Output | Suspend:
        reviews = ctx.services.extra.get("reviews")
        if reviews is None:
            raise NodeError("Review needs the review service, which is not available here")
        if not items:
            return {}
        key = reviews_key(ctx)
        try:
            entries = [self._entry(ctx, i, it, key) for i, it in enumerate(items)]
            queued = reviews.enqueue(entries)
        except NodeError:
            raise
        except Exception as exc:  # an unknown team or reviewer...: the node's error, in the user's words
            raise NodeError(getattr(exc, "message", None) or str(exc)) from exc
        state: dict[str, Any] = {"key": key, "items": []}
        for i, q in enumerate(queued):
            entry = {"id": q["id"], "index": i, "version": 0, "port": None, "out": None}
            if q["attached"] == "elsewhere":
                entry["port"] = "-"  # reviewed by another waiting activation: it goes on there
            state["items"].append(entry)
        ctx.log(f"queued {sum(1 for q in queued if q['attached'] == 'created')} items for review")
        emit: dict[str, list[Any]] = {}
        for q, entry in zip(queued, state["items"], strict=True):
            if q["attached"] == "same" and "payload" in q:  # a retried activation: decided meanwhile?
                self._take(entry, q["payload"], emit)
        return self._next(state, emit)

    async def resume(self, ctx: NodeContext, state: dict[str, Any], event: WakeEvent) -> Output | Suspend:
        emit: dict[str, list[Any]] = {}
        payload = event.payload if event.kind == "event" and isinstance(event.payload, dict) else None
        if payload is not None:
            for entry in state["items"]:
                if entry["id"] == payload.get("item_id"):
                    self._take(entry, payload, emit)
        return self._next(state, emit)

    def _take(self, entry: dict[str, Any], payload: dict[str, Any], emit: dict[str, list[Any]]) -> None:
        """Note a decision on one item (an event already seen is ignored)."""
        version = int(payload.get("version") or 0)
        if entry["port"] is not None or version <= entry["version"]:
            return
        entry["version"] = version
        status = payload.get("status")
        out = {**(payload.get("data") or {}), "_review": payload.get("review") or {}}
        if status in ("approved", "rejected"):
            entry["port"], entry["out"] = status, out
        elif status == "changes_requested":
            if self.config.on_changes_requested == "continue":
                entry["port"], entry["out"] = "changes_requested", out
            else:
                emit.setdefault("changes_requested", []).append(out)

    def _next(self, state: dict[str, Any], emit: dict[str, list[Any]]) -> Output | Suspend:
        if all(e["port"] is not None for e in state["items"]):
            result: dict[str, list[Any]] = {p: [] for p in PORTS}
            for e in sorted(state["items"], key=lambda e: e["index"]):
                if e["port"] in result:
                    result[e["port"]].append(e["out"])
            for p, its in emit.items():
                result[p] = [*its, *result[p]]
            return {p: v for p, v in result.items() if v}
        return Suspend(wait_for=state["key"], state=state, emit=emit or None)


def reviews_key(ctx: NodeContext) -> str:
    """The event that wakes this activation: ``review:<run>/<node>/<lane>`` (hashed when long)."""
    import hashlib

    key = f"review:{ctx.idempotency_key}"
    return key if len(key) <= 290 else "review:" + hashlib.sha256(ctx.idempotency_key.encode()).hexdigest()


def _title(item: dict[str, Any]) -> str:
    for k in ("title", "name", "company_name", "company", "supplier_name", "supplier", "supplier_id", "id"):
        v = item.get(k)
        if isinstance(v, (str, int)) and str(v).strip():
            return str(v)[:300]
    rec = item.get("recipient")
    if isinstance(rec, dict):
        for k in ("company", "name", "email"):
            if rec.get(k):
                return str(rec[k])[:300]
    return ""
