"""runs: when the retention policy removed a finished run's node data (its summary stays)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 00:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import datacollect.db.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_pruned_at", datacollect.db.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_column('data_pruned_at')
