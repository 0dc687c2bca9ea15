"""The tables of forms and collection campaigns (DESIGN §7).

* ``form_versions``   one immutable row per saved version of a form (key ``supplier_emissions_v2``);
* ``forms``           one row per form name, pointing at its newest version;
* ``campaigns``       one sending of a form to recipients (from the API or a SendForm node);
* ``form_requests``   one per recipient: the recipient, the tracking state, the draft, reminders
                      and delegation;
* ``form_links``      the personal links of a request (only the SHA-256 of each token is stored);
* ``form_uploads``    files uploaded through a link, so a submission can only name its own files;
* ``form_responses``  the answers with the schema version and their metadata;
* ``response_changes`` the response's audit trail: who, when, before, after, why;
* ``sent_mails``      the ledger of mails sent under an idempotency key (a retry never sends twice).

``db/models.py`` imports this module at its end, so Alembic and ``Base.metadata`` see them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from datacollect.db.models import ID, Base
from datacollect.db.types import JSONText, UTCDateTime
from datacollect.security.sensitive import SealedJSON


class Form(Base):
    __tablename__ = "forms"
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    current_key: Mapped[str] = mapped_column(String(200))
    versions: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FormVersion(Base):
    """A saved form schema; never changed once written."""

    __tablename__ = "form_versions"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    version: Mapped[str] = mapped_column(String(60))
    seq: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300), default="")
    schema: Mapped[dict[str, Any]] = mapped_column(JSONText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    __table_args__ = (UniqueConstraint("name", "seq"),)


class Campaign(Base):
    __tablename__ = "campaigns"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    form_key: Mapped[str] = mapped_column(String(200), index=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | closed
    delivery: Mapped[str] = mapped_column(String(10), default="email")  # email | sms | portal
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: seconds after sending for each reminder, e.g. [259200, 604800]
    reminders: Mapped[list[float]] = mapped_column(JSONText, default=list)
    escalation_owner: Mapped[str | None] = mapped_column(String(320), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: subject / text / html templates, link expiry, prefill settings...
    settings: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    #: the SendForm activation waiting for the answers: run_id, node_id, lane; None from the API
    origin: Mapped[dict[str, Any] | None] = mapped_column(JSONText, nullable=True)
    waiting: Mapped[bool] = mapped_column(default=False)
    total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    #: when the tick should look at the campaign as a whole again (deadline, escalation)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)


class FormRequest(Base):
    """One recipient's personal link and where they are with it."""

    __tablename__ = "form_requests"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    form_key: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True, index=True)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: pending, sent, opened, draft_saved, submitted, changes_requested, approved, overdue,
    #: bounced, delegated
    state: Mapped[str] = mapped_column(String(20), index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: prefill, draft and answers: the values of sensitive fields are sealed at rest (security/sensitive.py)
    prefill: Mapped[dict[str, Any] | None] = mapped_column(SealedJSON, nullable=True)
    draft: Mapped[dict[str, Any] | None] = mapped_column(SealedJSON, nullable=True)
    draft_saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    comments: Mapped[dict[str, Any] | None] = mapped_column(JSONText, nullable=True)
    response_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    delegated_from: Mapped[str | None] = mapped_column(ID, nullable=True)
    delegated_to: Mapped[str | None] = mapped_column(ID, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivery_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: when the tick must act on this request next (first delivery, a reminder, overdue)
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (Index("ix_form_requests_next_action", "next_action_at"),)


class FormLink(Base):
    """A personal link of a request: only the SHA-256 of its token is kept. Each mail carries a
    fresh token (the invitation, each reminder), so a request may have several links."""

    __tablename__ = "form_links"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("form_requests.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # invitation | reminder | portal | delegation
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FormUpload(Base):
    __tablename__ = "form_uploads"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("form_requests.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FormResponse(Base):
    __tablename__ = "form_responses"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    form_key: Mapped[str] = mapped_column(String(200))
    form_name: Mapped[str] = mapped_column(String(120))
    form_version: Mapped[str] = mapped_column(String(60))
    campaign_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    request_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    recipient: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    recipient_email: Mapped[str | None] = mapped_column(String(320), nullable=True, index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(SealedJSON)
    #: submitted | changes_requested | approved | rejected
    status: Mapped[str] = mapped_column(String(20), index=True)
    source: Mapped[str] = mapped_column(String(20), default="link")  # link | api | import
    run_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    #: user agent, client address, link (request id), delegation chain...
    meta: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (Index("ix_form_responses_form_submitted", "form_key", "submitted_at"),)


class ResponseChange(Base):
    """The audit trail of one response; append-only."""

    __tablename__ = "response_changes"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    response_id: Mapped[str] = mapped_column(ForeignKey("form_responses.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(40))
    before: Mapped[Any] = mapped_column(SealedJSON, nullable=True)
    after: Mapped[Any] = mapped_column(SealedJSON, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class SentMail(Base):
    """A mail sent (or being sent) under an idempotency key."""

    __tablename__ = "sent_mails"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    status: Mapped[str] = mapped_column(String(12))  # sending | sent
    message_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    recipients: Mapped[list[str]] = mapped_column(JSONText, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
