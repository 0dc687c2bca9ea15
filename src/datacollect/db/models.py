"""The tables. Typed SQLAlchemy 2 models with a naming convention so Alembic names are stable.

The engine's hot path uses these tables through SQLAlchemy Core (``Model.__table__``), the
API through the ORM.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from datacollect.db.run_data import RunDataJSON
from datacollect.db.types import JSONText, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(36)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# -- security -----------------------------------------------------------------------------
class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    scopes: Mapped[list[str]] = mapped_column(JSONText, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEntry(Base):
    """Append-only: who did what, when, with the state before and after, and why."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(200))
    before: Mapped[Any] = mapped_column(JSONText, nullable=True)
    after: Mapped[Any] = mapped_column(JSONText, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)


# -- workflows ----------------------------------------------------------------------------
class Workflow(Base):
    __tablename__ = "workflows"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(320), nullable=True)


class WorkflowVersion(Base):
    """An immutable saved definition. A run pins the version it started with."""

    __tablename__ = "workflow_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    __table_args__ = (UniqueConstraint("workflow_id", "version"),)


class WebhookRoute(Base):
    """Which active workflow answers ``/webhook/{path}`` (kept in step with activation)."""

    __tablename__ = "webhook_routes"
    path: Mapped[str] = mapped_column(String(300), primary_key=True)
    method: Mapped[str] = mapped_column(String(10), default="POST")
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(String(100))


class Schedule(Base):
    """A cron trigger of an active workflow; fires are claimed in ``schedule_fires``."""

    __tablename__ = "schedules"
    id: Mapped[str] = mapped_column(String(220), primary_key=True)  # workflow_id/node_id
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(String(100))
    cron: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    misfire_policy: Mapped[str] = mapped_column(String(20), default="run_once")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_fire_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    last_fire_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ScheduleFire(Base):
    __tablename__ = "schedule_fires"
    schedule_id: Mapped[str] = mapped_column(String(220), primary_key=True)
    fire_time: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    run_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- runs ---------------------------------------------------------------------------------
class Run(Base):
    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(100), index=True)
    version_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    mode: Mapped[str] = mapped_column(String(12))
    trigger_node: Mapped[str | None] = mapped_column(String(100), nullable=True)
    trigger: Mapped[Any] = mapped_column(JSONText, nullable=True)
    options: Mapped[Any] = mapped_column(JSONText, nullable=True)
    error: Mapped[Any] = mapped_column(JSONText, nullable=True)
    parent_run_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    notify: Mapped[str | None] = mapped_column(String(300), nullable=True)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: when the retention policy removed the run's node data (inputs, outputs); the summary stays
    data_pruned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    __table_args__ = (Index("ix_runs_workflow_created", "workflow_id", "created_at"),
                      Index("ix_runs_status", "status"),
                      Index("ix_runs_finished", "finished_at"))


class Activation(Base):
    """One execution of one node in one lane of one run, with its input, output and error.

    ``wake_at`` is the timer of a waiting (or backing-off) activation; ``wait_for`` the
    event it waits for. ``lease_until``/``leased_by`` are the worker's lease."""

    __tablename__ = "activations"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(String(100))
    lane: Mapped[str] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: input, output and state above ``run_data_blob_bytes`` are in the blob store (db/run_data.py)
    input: Mapped[Any] = mapped_column(RunDataJSON, nullable=True)
    output: Mapped[Any] = mapped_column(RunDataJSON, nullable=True)
    error: Mapped[Any] = mapped_column(JSONText, nullable=True)
    state: Mapped[Any] = mapped_column(RunDataJSON, nullable=True)
    event: Mapped[Any] = mapped_column(JSONText, nullable=True)
    emitted: Mapped[int] = mapped_column(Integer, default=0)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    wake_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    wait_for: Mapped[str | None] = mapped_column(String(300), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    leased_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duration_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    __table_args__ = (
        UniqueConstraint("run_id", "node_id", "lane"),
        Index("ix_activations_status_wake", "status", "wake_at"),
        Index("ix_activations_wait_for", "wait_for"),
        # a run's open activations by status, and a node's pending lanes (``open_counts``,
        # ``pending_below``), read without scanning the run's other lanes
        Index("ix_activations_run_status_node", "run_id", "status", "node_id"),
    )


# -- data the nodes use -------------------------------------------------------------------
class NamedMapping(Base):
    """A reusable DataMapper mapping (``carbon_to_sap_v2``)."""

    __tablename__ = "mappings"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    definition: Mapped[dict[str, Any]] = mapped_column(JSONText)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DataSource(Base):
    """A named list of rows (recipients, suppliers) readable as ``{{database.<name>}}``."""

    __tablename__ = "data_sources"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSONText, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HistoryValue(Base):
    """Earlier values per key (supplier) and field, for DataValidator's outlier check."""

    __tablename__ = "history_values"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    field: Mapped[str] = mapped_column(String(200))
    value: Mapped[float] = mapped_column(Float)
    ref: Mapped[str] = mapped_column(String(500))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (UniqueConstraint("ref", "field"),
                      Index("ix_history_lookup", "scope", "key", "field"))


class PendingEvent(Base):
    """An event that arrived while nothing waited for it yet (the waiter had not committed
    its wait); the next activation that waits for the key takes it at once."""

    __tablename__ = "pending_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300), index=True)
    payload: Mapped[Any] = mapped_column(JSONText, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


from datacollect.db import forms_models as _forms_models  # noqa: E402,F401  (forms tables, DESIGN §7)
from datacollect.db import integrations_models as _integrations_models  # noqa: E402,F401  (integration hub, DESIGN §9)
from datacollect.db import limits_models as _limits_models  # noqa: E402,F401  (concurrency limits, DESIGN §6)
from datacollect.reviews import models as _reviews_models  # noqa: E402,F401  (review queues and teams, DESIGN §8)
