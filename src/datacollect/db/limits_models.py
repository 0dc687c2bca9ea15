"""Concurrency limits (DESIGN §6): slots held by runs and activations, shared by every worker.

A limit is a key with a number: ``workflow:<id>`` (parallel runs of a workflow),
``node:<type>`` (parallel activations of a node type), ``connection:<name>`` (parallel
activations that use one connection, an ERP say). A holder takes a slot by inserting its row
while fewer than the limit hold one (under a lock on the key); it lets it go when done. A slot
expires like a lease, so one whose worker died is freed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from datacollect.db.models import Base
from datacollect.db.types import UTCDateTime


class ConcurrencySlot(Base):
    __tablename__ = "concurrency_slots"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (Index("ix_concurrency_slots_expires_at", "expires_at"),)
