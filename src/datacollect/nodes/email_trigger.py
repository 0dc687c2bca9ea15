"""EmailTrigger: start a run for each new message in an IMAP mailbox that matches a sender or
subject pattern (suppliers mailing their figures in).

The mailbox is polled by the process that runs the scheduler
(:class:`datacollect.integrations.imap.EmailPoller`); each matching message starts one run
whose trigger item is the message::

    {"from": "anna@supplier.example", "from_name": "Anna Berg", "to": [...], "subject": "Q1 figures",
     "date": "2025-04-02T09:14:00+00:00", "message_id": "<...>", "text": "...",
     "attachments": [{"name": "q1.xlsx", "content_type": "...", "size": 48211, "key": "email/...",
                      "sha256": "..."}],
     "mailbox": {"connection": "supplier-inbox", "folder": "INBOX", "uid": 42}}

Attachments are streamed into the blob store (never held whole in memory) and appear as
references (``key``); an attachment over ``max_attachment_mb`` is not stored and carries an
``error`` instead, so the run can route it to a person. A handled message is marked read and
flagged ``$Datacollect`` (or moved to ``move_to``), and each message is recorded under its
Message-ID, so nothing starts two runs: not after a restart, not when two schedulers poll, not
when the same message arrives twice.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from datacollect.nodes.base import Items, Node, NodeConfig, NodeContext, Output


def _pattern(v: str | None) -> str | None:
    if v is None or not v.strip():
        return None
    v = v.strip()
    if len(v) > 2 and v.startswith("/") and v.endswith("/"):
        try:
            re.compile(v[1:-1])
        except re.error as e:
            raise ValueError(f"'{v}' is not a regular expression: {e}") from None
    return v


class EmailTrigger(Node):
    type = "EmailTrigger"
    category = "trigger"
    description = "Start the workflow for each new email in a mailbox (IMAP) that matches a sender or subject; " \
                  "attachments go to the file store."
    icon = "mail"
    inputs = False
    is_trigger = True

    class Config(NodeConfig):
        connection: str | None = Field(
            None, description="The IMAP connection (mailbox). Empty: the one IMAP connection.",
            json_schema_extra={"format": "connection", "connection_kind": "imap"})
        folder: str | None = Field(None, description="The folder to watch. Empty: the connection's (INBOX).")
        from_filter: str | None = Field(
            None, description="Only mail from senders matching this pattern: * is any text (*@supplier.com); "
                              "/.../ is a regular expression. Empty: any sender.")
        subject_filter: str | None = Field(
            None, description="Only mail whose subject matches this pattern (* is any text; /.../ a regular "
                              "expression), e.g. *emissions*. Empty: any subject.")
        unseen_only: bool = Field(True, description="Only messages nobody has read yet.")
        after: Literal["mark", "move"] = Field(
            "mark", description="What happens to a handled message: mark it read (and flag it $Datacollect), or "
                                "move it to move_to.")
        move_to: str = Field("Processed", description="The folder handled messages go to (created if missing).")
        attachments: bool = Field(True, description="Store attachments in the file store, as item fields.")
        max_attachment_mb: float = Field(25, gt=0, le=2048,
                                         description="Larger attachments are not stored; the item says so.")
        max_message_mb: float = Field(100, gt=0, le=4096,
                                      description="Larger messages are not downloaded; the run gets their headers "
                                                  "and an error.")
        poll_seconds: float = Field(60, ge=1, le=86400, description="How often the mailbox is looked at.")
        watch: Literal["poll", "idle"] = Field(
            "poll", description="poll: look every poll_seconds; idle: keep a connection open and hear of new mail at "
                                "once (IMAP IDLE), looking every poll_seconds as well.")

        @field_validator("from_filter", "subject_filter")
        @classmethod
        def _patterns(cls, v: str | None) -> str | None:
            return _pattern(v)

    async def run(self, ctx: NodeContext, items: Items) -> Output:
        return {"main": items or [{}]}
