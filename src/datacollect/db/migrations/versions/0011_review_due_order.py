"""review_items: the queue sorted by due date follows an index (``due_order``: the due time,
or the end of time for an item without an SLA)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 01:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import datacollect.db.types

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the column arrives filled with the end of time, then takes the due time of the items that have one
    end = "'9999-12-31 00:00:00.000000'" if op.get_context().dialect.name == "sqlite" else "'9999-12-31 00:00:00+00'"
    op.add_column('review_items', sa.Column('due_order', datacollect.db.types.UTCDateTime(timezone=True),
                                            nullable=False, server_default=sa.text(end)))
    op.execute("UPDATE review_items SET due_order = due_at WHERE due_at IS NOT NULL")
    op.create_index('ix_review_items_due', 'review_items', ['status', 'due_order', sa.text('priority DESC')],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_review_items_due', table_name='review_items')
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.drop_column('due_order')
