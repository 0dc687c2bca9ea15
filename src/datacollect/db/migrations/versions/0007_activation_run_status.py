"""activations by run and status: a run's open work and a node's pending lanes without a scan

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 23:40:00
"""
from __future__ import annotations

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('activations', schema=None) as batch_op:
        batch_op.create_index('ix_activations_run_status_node', ['run_id', 'status', 'node_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('activations', schema=None) as batch_op:
        batch_op.drop_index('ix_activations_run_status_node')
