"""distributed shape: concurrency slots

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 22:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import datacollect.db.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('concurrency_slots',
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('holder', sa.String(length=80), nullable=False),
    sa.Column('expires_at', datacollect.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', 'holder', name=op.f('pk_concurrency_slots'))
    )
    with op.batch_alter_table('concurrency_slots', schema=None) as batch_op:
        batch_op.create_index('ix_concurrency_slots_expires_at', ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('concurrency_slots', schema=None) as batch_op:
        batch_op.drop_index('ix_concurrency_slots_expires_at')
    op.drop_table('concurrency_slots')
