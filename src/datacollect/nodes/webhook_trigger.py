"""WebhookTrigger: starts a run for each call to ``/webhook/{endpoint_path}``.

Authentication: none, a header token, or an HMAC-SHA256 signature of the raw body (the
``X-Signature-256: sha256=<hex>`` convention). The caller gets the run id at once
(``respond: immediately``) or waits for the run and gets the last node's items
(``respond: last_node``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from datacollect.nodes.base import Items, Node, NodeConfig, NodeContext, Output

PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,199}$")


class WebhookAuth(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["none", "header", "hmac"] = Field("none", description="How callers prove who they are.")
    header: str | None = Field(None, description="Header holding the token (header) or the signature (hmac). "
                                                 "Defaults: X-Webhook-Token / X-Signature-256.")
    token: str | None = Field(None, description="The expected token (header auth).", json_schema_extra={"format": "password"})
    secret: str | None = Field(None, description="The shared secret of the HMAC-SHA256 signature.",
                               json_schema_extra={"format": "password"})

    @model_validator(mode="after")
    def _complete(self) -> WebhookAuth:
        if self.type == "header" and not self.token:
            raise ValueError("header authentication needs a token")
        if self.type == "hmac" and not self.secret:
            raise ValueError("hmac authentication needs a secret")
        return self

    def verify(self, headers: dict[str, str], body: bytes) -> str | None:
        """None when the call is allowed, else what is wrong (for a 401 answer)."""
        if self.type == "none":
            return None
        if self.type == "header":
            name = (self.header or "X-Webhook-Token").lower()
            given = headers.get(name)
            if not given:
                return f"The header {self.header or 'X-Webhook-Token'} is missing"
            if not hmac.compare_digest(given.encode(), (self.token or "").encode()):
                return f"The token in {self.header or 'X-Webhook-Token'} is wrong"
            return None
        name = (self.header or "X-Signature-256").lower()
        given = headers.get(name, "")
        if not given:
            return f"The signature header {self.header or 'X-Signature-256'} is missing"
        expected = hmac.new((self.secret or "").encode(), body, hashlib.sha256).hexdigest()
        value = given.split("=", 1)[1] if given.startswith("sha256=") else given
        if not hmac.compare_digest(value.lower(), expected):
            return "The signature does not match the body (HMAC-SHA256 of the raw body with the shared secret)"
        return None


class WebhookTrigger(Node):
    type = "WebhookTrigger"
    category = "trigger"
    description = "Start the workflow when a system calls its URL (/webhook/<path>)."
    icon = "webhook"
    inputs = False
    is_trigger = True

    class Config(NodeConfig):
        endpoint_path: str = Field(description="The URL path after /webhook/, e.g. 'suppliers/new'.")
        method: Literal["POST", "PUT", "GET"] = Field("POST", description="HTTP method callers use.")
        authentication: WebhookAuth = Field(default_factory=WebhookAuth,
                                            description="How callers prove who they are.")
        respond: Literal["immediately", "last_node"] = Field(
            "immediately", description="Answer at once with the run id, or wait for the run and answer "
                                       "with the last node's items.")

        @field_validator("endpoint_path")
        @classmethod
        def _path(cls, v: str) -> str:
            v = v.strip().strip("/")
            if not PATH.match(v):
                raise ValueError("the path may hold letters, digits, '-', '_', '.', '/' (at most 200)")
            return v

    async def run(self, ctx: NodeContext, items: Items) -> Output:
        return {"main": items or [{}]}
