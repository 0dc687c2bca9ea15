"""The tables of reviews and teams (DESIGN §8, §10).

* ``teams``          a group of people that shares review queues (``Sustainability``, ``Finance``);
  ``rr_counter`` is the round-robin cursor, advanced atomically;
* ``team_members``   who is in a team (``member`` or ``lead``: a lead may reassign the team's items);
* ``review_items``   one item to review: a form response or any workflow item, with its status,
                     priority, SLA, assignee, team, validation issues and score, and the run and
                     activation waiting for the decision;
* ``review_events``  the append-only trail of every item: who, when, what, before, after, why
                     (refused to UPDATE and DELETE by a trigger on SQLite and PostgreSQL);
* ``review_comments`` notes of reviewers and the per-field comments of a request for changes.

``db/models.py`` imports this module at its end, so Alembic and ``Base.metadata`` see them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    desc,
)
from sqlalchemy.orm import Mapped, mapped_column

from datacollect.db.models import ID, Base
from datacollect.db.types import JSONText, UTCDateTime

AUTO_ID = BigInteger().with_variant(Integer, "sqlite")


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    #: round-robin cursor: ``UPDATE teams SET rr_counter = rr_counter + 1 ... RETURNING``
    rr_counter: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(320), nullable=True)


class TeamMember(Base):
    __tablename__ = "team_members"
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(10), default="member")  # member | lead
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


#: where an item without an SLA goes in the queue sorted by due date: after every due one
NO_DUE = datetime(9999, 12, 31, tzinfo=UTC)


class ReviewItem(Base):
    """One item in a review queue. Status: pending, in_review, approved, rejected,
    changes_requested, escalated (see ``reviews.queue.TRANSITIONS``)."""

    __tablename__ = "review_items"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    queue: Mapped[str] = mapped_column(String(100))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    #: 0 low, 1 normal, 2 high, 3 urgent
    priority: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(300), default="")
    #: who or what the item is about (a supplier); the same key across periods ("last period")
    subject_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    source: Mapped[str] = mapped_column(String(20))  # workflow | api
    #: the values under review (the workflow item; for a response, its answers and metadata)
    data: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    issues: Mapped[list[Any]] = mapped_column(JSONText, default=list)
    #: how many issues (filters and counts read it from an index, not the JSON)
    issue_count: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    response_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    response_revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # the run and the activation waiting for the decision
    run_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    workflow_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    node_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lane: Mapped[str | None] = mapped_column(String(400), nullable=True)
    #: ``run/node/lane/index`` of the activation that put it here: a retried activation finds it
    origin_key: Mapped[str | None] = mapped_column(String(700), nullable=True, unique=True)
    #: the event that wakes the waiting activation, and whether one is waiting
    wait_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    waiting: Mapped[bool] = mapped_column(Boolean, default=False)
    #: after a request for changes: ``wait`` for the resubmission here, or ``continue``
    on_changes: Mapped[str] = mapped_column(String(10), default="wait")
    assignment: Mapped[str] = mapped_column(String(20), default="team")  # user | team | round_robin | least_loaded
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: 2 with four eyes: a second, different person must approve
    approvals_required: Mapped[int] = mapped_column(Integer, default=1)
    first_approver_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    first_approver: Mapped[str | None] = mapped_column(String(320), nullable=True)
    first_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sla_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    #: ``due_at``, or the end of time for an item without an SLA: the queue sorted by due date
    #: follows an index (both databases put NULLs on different ends)
    due_order: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=NO_DUE)
    #: a user's email or a team's name, told when the SLA passes
    escalate_to: Mapped[str | None] = mapped_column(String(320), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: the SLA's timer: the due time while an escalation is still to come; cleared once the
    #: item is escalated, decided, or waits for the respondent (so due timers are found by index)
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    decided_by_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: the per-field comments of the last request for changes ``{field: text}``
    comments: Mapped[dict[str, Any] | None] = mapped_column(JSONText, nullable=True)
    #: 1, then one more for each resubmission
    round: Mapped[int] = mapped_column(Integer, default=1)
    #: the decision is committed but the waiting activation was not told yet
    notify_pending: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (
        Index("ix_review_items_order", "status", desc("priority"), "created_at"),
        Index("ix_review_items_due", "status", "due_order", desc("priority")),
        # counts per status of a team's (or a queue's) items are read from these alone
        Index("ix_review_items_team_status", "team_id", "queue", "status", "issue_count"),
        Index("ix_review_items_queue_status", "queue", "status"),
        Index("ix_review_items_assignee_status", "assignee_id", "queue", "status"),
        Index("ix_review_items_subject", "queue", "subject_key"),
    )


class ReviewEvent(Base):
    """Append-only: every action on a review item (who, when, what, before, after, why)."""

    __tablename__ = "review_events"
    id: Mapped[int] = mapped_column(AUTO_ID, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(String(36), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    actor_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    before: Mapped[Any] = mapped_column(JSONText, nullable=True)
    after: Mapped[Any] = mapped_column(JSONText, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: the bulk decision this event was part of
    batch_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    __table_args__ = (Index("ix_review_events_actor", "actor_id", "action"),)


class ReviewComment(Base):
    __tablename__ = "review_comments"
    id: Mapped[int] = mapped_column(AUTO_ID, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("review_items.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    author_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    author: Mapped[str] = mapped_column(String(320))
    #: the field the comment is about (None: the whole item)
    field: Mapped[str | None] = mapped_column(String(200), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20), default="note")  # note | change_request
    round: Mapped[int] = mapped_column(Integer, default=1)
