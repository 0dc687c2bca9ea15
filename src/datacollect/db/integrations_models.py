"""The tables of the integration hub (DESIGN §9, §13 lineage).

* ``connections``           typed credentials: public settings in ``config``, the secret fields
                            encrypted together in ``secret`` (Fernet, ``DATACOLLECT_SECRETS_KEY``);
* ``erp_exports``           the export ledger: one row per record sent to an ERP under its external
                            reference, with the document key the ERP gave it and where the record came
                            from (run, node, lane, form response, review) - exactly-once and lineage;
* ``email_messages``        the messages an EmailTrigger has taken, one row per (trigger, message), so
                            no message starts two runs, even after a restart;
* ``webhook_subscriptions`` outgoing webhooks: a URL, the events it wants, its signing secret;
* ``webhook_deliveries``    one row per (subscription, event): the outbox and the delivery log.

``db/models.py`` imports this module at its end, so Alembic and ``Base.metadata`` see them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from datacollect.db.models import ID, Base
from datacollect.db.types import JSONText, UTCDateTime

BIGID = BigInteger().with_variant(Integer, "sqlite")


class Connection(Base):
    """A named set of credentials a node uses by id (``"connection": "sap-prod"``)."""

    __tablename__ = "connections"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    last_test: Mapped[Any] = mapped_column(JSONText, nullable=True)


class ErpExport(Base):
    """One record sent (or being sent) to an ERP. ``status``: ``sending`` (the ERP may or may
    not have it: look it up by ``external_ref`` before sending again), ``done``, ``failed``.
    ``claimed_at`` is set while an attempt is sending it (cleared when the attempt is over)."""

    __tablename__ = "erp_exports"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    connection_id: Mapped[str] = mapped_column(String(100))
    system: Mapped[str] = mapped_column(String(20))
    entity: Mapped[str] = mapped_column(String(200))
    external_ref: Mapped[str] = mapped_column(String(200), index=True)
    item_key: Mapped[str] = mapped_column(String(600))
    operation: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    document_key: Mapped[Any] = mapped_column(JSONText, nullable=True)
    payload: Mapped[Any] = mapped_column(JSONText, nullable=True)
    response: Mapped[Any] = mapped_column(JSONText, nullable=True)
    error: Mapped[Any] = mapped_column(JSONText, nullable=True)
    run_id: Mapped[str] = mapped_column(ID, index=True)
    workflow_id: Mapped[str] = mapped_column(String(100))
    node_id: Mapped[str] = mapped_column(String(100))
    lane: Mapped[str] = mapped_column(String(400))
    item_index: Mapped[int] = mapped_column(Integer)
    response_id: Mapped[str | None] = mapped_column(ID, nullable=True, index=True)
    origin: Mapped[Any] = mapped_column(JSONText, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (UniqueConstraint("connection_id", "entity", "external_ref", "item_key"),)


class EmailMessage(Base):
    """A message an EmailTrigger took: ``message_key`` is its Message-ID (or UIDVALIDITY/UID
    when it has none); the run it started has the id ``run_id``."""

    __tablename__ = "email_messages"
    id: Mapped[int] = mapped_column(BIGID, primary_key=True, autoincrement=True)
    trigger: Mapped[str] = mapped_column(String(220))
    message_key: Mapped[str] = mapped_column(String(500))
    folder: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))  # claimed | started | done | refused
    run_id: Mapped[str] = mapped_column(ID)
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (UniqueConstraint("trigger", "message_key"),)


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(JSONText, default=list)
    workflow_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    secret: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(320), nullable=True)


class WebhookDelivery(Base):
    """One event for one subscription: ``pending`` until sent, ``sending`` while a sender holds
    it (``lease_until``), then ``delivered`` or ``failed``; ``log`` keeps every attempt."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(60))
    event_key: Mapped[str] = mapped_column(String(300))
    payload: Mapped[Any] = mapped_column(JSONText)
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    log: Mapped[list[Any]] = mapped_column(JSONText, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    __table_args__ = (UniqueConstraint("subscription_id", "event_key"),
                      Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
                      Index("ix_webhook_deliveries_subscription", "subscription_id", "created_at"))
