"""SendForm: send a form to recipients, each with a personal link, and go on as they answer.

Recipients (``recipients``): a list (email addresses or objects with ``email``/``phone`` and
any fields), a template giving a list (``{{database.suppliers}}``, a named data source), or,
when left out, the items coming in (one recipient per item). Delivery by email, SMS or
portal; reminders (``["3d", "7d"]`` after the invitation, ``"-1d"`` a day before the
deadline); a deadline (an ISO date or ``"14d"`` from now); an escalation owner told at the
deadline who has not answered; prefill per field (templates with the recipient as ``item``
and ``recipient``), or the recipient's last answers.

The node makes a campaign and waits without holding a worker; each submission wakes it with
the response (``form:<campaign id>``). ``continue``:

* ``each_response`` (default): each response goes out of ``main`` in its own lane as it
  arrives, so what follows runs once per response;
* ``all_responses``: when everyone has answered (or at the deadline), all responses go out
  of ``main`` together;
* ``quorum``: the same once ``quorum`` responses are in (a number, or a share such as 0.8);
* ``deadline``: at the deadline, the responses received go out together.

When the campaign is over (everyone answered, or the deadline) ``done`` gets one summary item
(``campaign_id``, ``expected``, ``answered``, ``outstanding``). The campaign is made with the
activation's idempotency key, so a retried activation never sends twice.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field, field_validator

from datacollect.engine.expressions import compile_template, is_template
from datacollect.nodes.base import (
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


class SendForm(Node):
    type = "SendForm"
    category = "collection"
    description = "Send a form to recipients with personal links, remind them, and go on as answers arrive."
    icon = "send"
    ports = ("main", "done")
    lane_ports = ("main",)
    waits = True
    side_effects = True

    class Config(NodeConfig):
        form_id: str = Field(min_length=1, description="The form to send: a version's key (supplier_emissions_v2) "
                                                       "or a name (its newest version).",
                             json_schema_extra={"format": "form"})
        recipients: Template | list[Any] | None = Field(
            None, description="Email addresses or objects with email (and name, company...), a data source "
                              "({{database.suppliers}}), or empty: one recipient per incoming item.")
        recipients_source: Literal["manual", "database", "previous_node"] | None = Field(
            None, description="Where recipients come from (read from 'recipients' when not set).",
            json_schema_extra={"x-group": "advanced"})
        email_field: str = Field("email", description="The recipient field holding the email address.",
                                 json_schema_extra={"x-group": "advanced"})
        delivery_method: Literal["email", "sms", "portal"] = Field("email", description="How links reach people.")
        reminder_schedule: list[str | float] = Field(
            default_factory=list, description="Reminders after the invitation ('3d', '7d'), or before the "
                                              "deadline ('-1d').")
        deadline: Template | None = Field(None, description="An ISO date and time, or a duration from now ('14d').")
        escalation_owner: Template | None = Field(None, description="Email of who is told at the deadline who "
                                                                    "has not answered.")
        prefill: dict[str, Any] | None = Field(
            None, description="Starting answers per field; templates see the recipient as item "
                              "({{ item.company }}).")
        prefill_last_response: bool = Field(False, description="Start from the recipient's last answers.")
        subject: Template | None = Field(None, description="Mail subject ({{ form.title }}, {{ recipient.name }}).",
                                         json_schema_extra={"x-group": "message"})
        message: Template | None = Field(None, description="Mail text; {{ link }} is the personal link.",
                                         json_schema_extra={"x-group": "message", "x-widget": "textarea"})
        continue_: Literal["each_response", "all_responses", "quorum", "deadline"] = Field(
            "each_response", alias="continue", description="When the workflow goes on (see the node's help).")
        quorum: float | None = Field(None, gt=0, description="For 'quorum': a number of responses, or a share "
                                                             "(0.8 = 80%).")

        @field_validator("reminder_schedule")
        @classmethod
        def _reminders(cls, v: list[Any]) -> list[Any]:
            for r in v:
                parse_duration(r[1:] if isinstance(r, str) and r.startswith("-") else abs(r) if isinstance(
                    r, (int, float)) else r)
            return v

    def check(self) -> list[str]:
        cfg = self.config
        out = []
        if cfg.continue_ == "quorum" and cfg.quorum is None:
            out.append("'quorum' needs a number of responses (or a share such as 0.8)")
        if cfg.continue_ == "deadline" and not cfg.deadline:
            out.append("'continue: deadline' needs a deadline")
        return out

    # -- run --------------------------------------------------------------------------------
    def _recipients(self, ctx: NodeContext, items: Items) -> list[Any]:
        raw = self.config.recipients
        if raw is None or self.config.recipients_source == "previous_node":
            return [dict(it) for it in items if it]
        value = ctx.render(raw, items[0] if items else None) if is_template(raw) or isinstance(raw, list) else raw
        if isinstance(value, str):
            value = [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            raise NodeError(f"'recipients' gave {type(value).__name__}; it must give a list")
        return list(value)

    def _deadline(self, ctx: NodeContext, items: Items) -> datetime | None:
        raw = self.config.deadline
        if not raw:
            return None
        value = ctx.render(raw, items[0] if items else None)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        text = str(value).strip()
        try:
            return ctx.now() + timedelta(seconds=parse_duration(text))
        except ValueError:
            pass
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise NodeError(f"The deadline {text!r} is neither a date (ISO 8601) nor a duration ('14d')") from None
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)

    async def run(self, ctx: NodeContext, items: Items) -> Output | Suspend:
        forms = ctx.services.forms
        if forms is None:
            raise NodeError("SendForm needs the forms service, which is not available here")
        cfg = self.config
        recipients = self._recipients(ctx, items)
        if not recipients:
            return {"done": [{"campaign_id": None, "expected": 0, "answered": 0, "outstanding": 0}]}
        deadline = self._deadline(ctx, items)
        prefill = None
        if cfg.prefill:
            render = compile_template(cfg.prefill)
            prefill = []
            for r in recipients:
                rec = r if isinstance(r, dict) else {"email": r}
                prefill.append(render(ctx.with_item(rec) | {"recipient": rec}))
        owner = ctx.render(cfg.escalation_owner, items[0] if items else None) if cfg.escalation_owner else None
        settings = {k: v for k, v in (("subject", cfg.subject), ("message", cfg.message)) if v}
        campaign_id = uuid.UUID(hashlib.md5(ctx.idempotency_key.encode()).hexdigest()).hex
        origin = {"run_id": ctx.run_id, "workflow_id": ctx.workflow_id, "node_id": ctx.node_id, "lane": ctx.lane}
        try:
            summary = await forms.start_campaign(
                cfg.form_id, recipients, campaign_id=campaign_id, origin=origin, delivery=cfg.delivery_method,
                deadline=deadline, reminder_schedule=cfg.reminder_schedule, escalation_owner=owner,
                prefill=prefill, prefill_last_response=cfg.prefill_last_response, settings=settings,
                email_field=cfg.email_field)
        except NodeError:
            raise
        except Exception as exc:  # bad recipients, unknown form...: the node's error, in the user's words
            raise NodeError(getattr(exc, "message", None) or str(exc)) from exc
        ctx.log(f"sent {cfg.form_id} to {summary['total']} recipients (campaign {summary['id']})")
        state = {"campaign_id": summary["id"], "expected": summary["total"], "seen": 0,
                 "deadline": deadline.isoformat() if deadline else None}
        return Suspend(wait_for=self._key(summary["id"]), wake_at=deadline, state=state)

    @staticmethod
    def _key(campaign_id: str) -> str:
        return f"form:{campaign_id}"

    def _needed(self, expected: int) -> int:
        q = self.config.quorum or expected
        return max(1, min(expected, int(q * expected + 0.999999) if q < 1 else int(q)))

    async def resume(self, ctx: NodeContext, state: dict[str, Any], event: WakeEvent) -> Output | Suspend:
        forms = ctx.services.forms
        cid = state["campaign_id"]
        mode = self.config.continue_
        deadline = datetime.fromisoformat(state["deadline"]) if state.get("deadline") else None
        timed_out = event.kind == "timer"
        item = event.payload if event.kind == "event" and isinstance(event.payload, dict) else None

        def summary() -> dict[str, Any]:
            p = forms.progress(cid)
            return {"campaign_id": cid, "expected": p["expected"], "answered": p["answered"],
                    "outstanding": max(0, p["expected"] - p["answered"]), "deadline_passed": timed_out}

        if item is not None and (item.get("revision") or 1) == 1:
            # first answers are counted as they come through here, so the node goes on only once
            # every answer it counts has gone down the graph (none is left in flight)
            state = {**state, "seen": int(state.get("seen") or 0) + 1}
        seen, expected = int(state.get("seen") or 0), int(state["expected"])
        if mode == "each_response":
            if timed_out or seen >= expected:
                forms.finish(cid)
                return {"main": [item] if item else [], "done": [summary()]}
            return Suspend(wait_for=self._key(cid), wake_at=deadline, state=state,
                           emit={"main": [item]} if item else None)
        needed = self._needed(expected) if mode == "quorum" else expected
        if timed_out or (mode != "deadline" and seen >= needed):
            forms.finish(cid)
            return {"main": forms.responses(cid), "done": [summary()]}
        return Suspend(wait_for=self._key(cid), wake_at=deadline, state=state)
