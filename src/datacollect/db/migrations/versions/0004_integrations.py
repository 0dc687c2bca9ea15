"""integrations: connections, the ERP export ledger, the EmailTrigger message ledger,
outgoing webhook subscriptions and their deliveries (db/integrations_models.py).

Checked by hand against the models: only the integration hub's five tables, with the names the
naming convention gives them; every JSON column is JSONText (JSONB on PostgreSQL). Runs on
SQLite (batch mode for the indexes) and PostgreSQL.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 21:30:30.469702
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import datacollect.db.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('connections',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('config', datacollect.db.types.JSONText(), nullable=False),
    sa.Column('secret', sa.Text(), nullable=True),
    sa.Column('created_at', datacollect.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', datacollect.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=True),
    sa.Column('last_test', datacollect.db.types.JSONText(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connections'))
    )
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_connections_kind'), ['kind'], unique=False)

    op.create_table('email_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('trigger', sa.String(length=220), nullable=False),
    sa.Column('message_key', sa.String(length=500), nullable=False),
    sa.Column('folder', sa.String(length=200), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('sender', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', datacollect.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', datacollect.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_messages')),
    sa.UniqueConstraint('trigger', 'message_key', name=op.f('uq_email_messages_trigger_message_key'))
    )
    op.create_table('erp_exports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('connection_id', sa.String(length=100), nullable=False),
    sa.Column('system', sa.String(length=20), nullable=False),
    sa.Column('entity', sa.String(length=200), nullable=False),
    sa.Column('external_ref', sa.String(length=200), nullable=False),
    sa.Column('item_key', sa.String(length=600), nullable=False),
    sa.Column('operation', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('document_key', datacollect.db.types.JSONText(), nullable=True),
    sa.Column('payload', datacollect.db.types.JSONText(), nullable=True),
    sa.Column('response', datacollect.db.types.JSONText(), nullable=True),
    sa.Column('error', datacollect.db.types.JSONText(), nullable=True),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('workflow_id', sa.String(length=100), nullable=False),
    sa.Column('node_id', sa.String(length=100), nullable=False),
    sa.Column('lane', sa.String(length=400), nullable=False),
    sa.Column('item_index', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.String(length=36), nullable=True),
    sa.Column('origin', datacollect.db.types.JSONText(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_at', datacollect.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', datacollect.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', datacollect.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_exports')),
    sa.UniqueConstraint('connection_id', 'entity', 'external_ref', 'item_key', name=op.f('uq_erp_exports_connection_id_entity_external_ref_item_key'))
    )
    with op.batch_alter_table('erp_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erp_exports_external_ref'), ['external_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_exports_response_id'), ['response_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_exports_run_id'), ['run_id'], unique=False)

    op.create_table('webhook_subscriptions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('events', datacollect.db.types.JSONText(), nullable=False),
    sa.Column('workflow_id', sa.String(length=100), nullable=True),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', datacollect.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', datacollect.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscriptions'))
    )
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('subscription_id', sa.String(length=36), nullable=False),
    sa.Column('event', sa.String(length=60), nullable=False),
    sa.Column('event_key', sa.String(length=300), nullable=False),
    sa.Column('payload', datacollect.db.types.JSONText(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', datacollect.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_until', datacollect.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('log', datacollect.db.types.JSONText(), nullable=False),
    sa.Column('created_at', datacollect.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', datacollect.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['webhook_subscriptions.id'], name=op.f('fk_webhook_deliveries_subscription_id_webhook_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('subscription_id', 'event_key', name=op.f('uq_webhook_deliveries_subscription_id_event_key'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_webhook_deliveries_subscription', ['subscription_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_subscription')
        batch_op.drop_index('ix_webhook_deliveries_due')

    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_subscriptions')
    with op.batch_alter_table('erp_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_exports_run_id'))
        batch_op.drop_index(batch_op.f('ix_erp_exports_response_id'))
        batch_op.drop_index(batch_op.f('ix_erp_exports_external_ref'))

    op.drop_table('erp_exports')
    op.drop_table('email_messages')
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_connections_kind'))

    op.drop_table('connections')
