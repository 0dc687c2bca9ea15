"""SendEmail: send a mail per item (or one for all items) through the platform's SMTP server.

``to``, ``cc``, ``bcc``, ``subject``, ``text`` and ``html`` are templates (``{{ item.email }}``,
``{{ validate_1.score }}``); an address list may be a list or text separated by commas.
Each mail carries the activation's idempotency key (per item: ``run/node/lane/index``), so a
retried activation never sends a mail twice. An address the server refuses makes the node
fail (``on_error: route`` sends the item out of ``error`` instead); otherwise each item goes
on with ``email: {"message_id", "to"}``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from datacollect.engine.expressions import compile_template
from datacollect.nodes.base import Item, Items, Node, NodeConfig, NodeContext, NodeError, Output, Template


def _addresses(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace(";", ",").split(",")]
    elif isinstance(value, list):
        parts = [str(p).strip() for p in value if p]
    else:
        parts = [str(value).strip()]
    out = [p for p in parts if p]
    for a in out:
        if "@" not in a:
            raise NodeError(f"'{a}' is not an email address")
    return out


class SendEmail(Node):
    type = "SendEmail"
    category = "output"
    description = "Send an email (per item, or one for all items) through the SMTP server."
    icon = "mail"
    side_effects = True

    class Config(NodeConfig):
        to: Template | list[str] = Field(description="Recipients: addresses, or a template ({{ item.email }}).")
        cc: Template | list[str] | None = None
        bcc: Template | list[str] | None = Field(None, json_schema_extra={"x-group": "advanced"})
        reply_to: Template | None = Field(None, json_schema_extra={"x-group": "advanced"})
        subject: Template = Field(description="The subject ({{ item.company_name }}: your figures).")
        text: Template = Field(description="The plain-text body.", json_schema_extra={"x-widget": "textarea"})
        html: Template | None = Field(None, description="An HTML body (optional; the text is always sent too).",
                                      json_schema_extra={"x-widget": "textarea"})
        mode: Literal["per_item", "once"] = Field(
            "per_item", description="One mail per item, or one mail for all items (templates see the first "
                                    "item; every item is in {{ items }}).")

    def _render(self, ctx: NodeContext, item: Item | None, items: Items) -> dict[str, Any]:
        cfg = self.config
        scope_item = item if item is not None else (items[0] if items else {})

        def r(value: Any) -> Any:
            if value is None:
                return None
            if item is None:  # one mail for all items: every item is in scope as well
                return compile_template(value)({**ctx.with_item(scope_item), "items": items})
            return ctx.render(value, scope_item)

        return {"to": _addresses(r(cfg.to)), "cc": _addresses(r(cfg.cc)), "bcc": _addresses(r(cfg.bcc)),
                "subject": str(r(cfg.subject) or "").replace("\n", " ").strip(), "text": str(r(cfg.text) or ""),
                "html": r(cfg.html), "reply_to": r(cfg.reply_to)}

    async def run(self, ctx: NodeContext, items: Items) -> Output:
        mailer = ctx.services.mailer
        if mailer is None:
            raise NodeError("SendEmail needs the platform's mailer (DATACOLLECT_SMTP_HOST), which is not configured")
        batches: list[tuple[str, Item | None]] = []
        if self.config.mode == "once":
            batches.append((ctx.idempotency_key, None))
        else:
            batches = [(ctx.item_key(i), it) for i, it in enumerate(items or [{}])]
        out: Items = []
        for key, item in batches:
            m = self._render(ctx, item, items)
            if not m["to"]:
                raise NodeError("The mail has no recipient ('to' gave nothing)")
            headers = {"Idempotency-Key": key}
            if m["reply_to"]:
                headers["Reply-To"] = str(m["reply_to"])
            if ctx.test_mode:
                ctx.log(f"test run: a mail to {', '.join(m['to'])} was not sent")
                mid = None
            else:
                mid = await mailer.send(m["to"], m["subject"], m["text"], m["html"], headers, cc=m["cc"],
                                        bcc=m["bcc"])
            info = {"message_id": mid, "to": m["to"]}
            if item is None:
                out = [{**it, "email": info} for it in items] or [{"email": info}]
            else:
                out.append({**item, "email": info})
        return {"main": out}
