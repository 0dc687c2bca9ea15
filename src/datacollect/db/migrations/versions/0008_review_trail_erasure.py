"""review trail: the one change the append-only guard allows is the erasure tombstone

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 12:00:00.000000

``review_events`` stays append-only (migration 0005): UPDATE, DELETE and TRUNCATE are refused.
The one exception is GDPR erasure (``security/privacy.py``): an UPDATE whose only change is
``before`` and/or ``after`` becoming the tombstone ``{"erased": true}``. Who acted, when, which
action and why stay as they were; no other value can be written, nothing can be deleted.
"""
from __future__ import annotations

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

GUARD_MESSAGE = "review_events is append-only: the review trail cannot be changed or deleted"
#: as JSONText writes it on SQLite (orjson, compact); on PostgreSQL compared as jsonb
TOMBSTONE = '{"erased":true}'
KEPT = ("id", "item_id", "at", "actor", "actor_id", "action", "reason", "batch_id")


def _sql(statement: str) -> None:
    """Run as written (``op.execute`` would read ``:true`` in the tombstone as a parameter)."""
    op.get_bind().exec_driver_sql(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _sql(f"""
            CREATE OR REPLACE FUNCTION review_events_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'UPDATE'
                   AND (to_jsonb(NEW) - 'before' - 'after') = (to_jsonb(OLD) - 'before' - 'after')
                   AND (NEW.before IS NOT DISTINCT FROM OLD.before OR NEW.before = '{TOMBSTONE}'::jsonb)
                   AND (NEW.after IS NOT DISTINCT FROM OLD.after OR NEW.after = '{TOMBSTONE}'::jsonb) THEN
                    RETURN NEW;
                END IF;
                RAISE EXCEPTION '{GUARD_MESSAGE}' USING ERRCODE = 'insufficient_privilege';
            END;
            $$ LANGUAGE plpgsql""")
    else:
        same = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in KEPT)
        op.execute("DROP TRIGGER IF EXISTS review_events_no_update")
        _sql(f"""
            CREATE TRIGGER review_events_no_update BEFORE UPDATE ON review_events
            WHEN NOT ({same}
                      AND (NEW.before IS OLD.before OR NEW.before = '{TOMBSTONE}')
                      AND (NEW.after IS OLD.after OR NEW.after = '{TOMBSTONE}'))
            BEGIN SELECT RAISE(ABORT, '{GUARD_MESSAGE}'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE OR REPLACE FUNCTION review_events_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{GUARD_MESSAGE}' USING ERRCODE = 'insufficient_privilege';
            END;
            $$ LANGUAGE plpgsql""")
    else:
        op.execute("DROP TRIGGER IF EXISTS review_events_no_update")
        op.execute(f"CREATE TRIGGER review_events_no_update BEFORE UPDATE ON review_events "
                   f"BEGIN SELECT RAISE(ABORT, '{GUARD_MESSAGE}'); END")
