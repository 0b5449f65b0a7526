"""instant notification channels, outbox ordering per channel, delivery attempts

Revision ID: 0010_notifications
Revises: 0009_bulk
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010_notifications'
down_revision = '0009_bulk'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notification_channels',
        sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('channel_id', sa.String(length=40), nullable=False),
        sa.Column('module_id', sa.BigInteger(), nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('notify_url', sa.String(length=2000), nullable=False),
        sa.Column('token', sa.String(length=50), nullable=True),
        sa.Column('channel_expiry', sa.DateTime(), nullable=False),
        sa.Column('resource_uri', sa.String(length=2000), nullable=False),
        sa.Column('notify_on_related_action', sa.Boolean(), nullable=False),
        sa.Column('return_affected_field_values', sa.Boolean(), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=True),
        sa.Column('condition', sa.JSON(), nullable=True),
        sa.Column('created_by', sa.BigInteger(), nullable=False),
        sa.Column('created_time', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('channel_id', 'module_id', name='uq_notification_channel_module'),
    )
    with op.batch_alter_table('notification_channels', schema=None) as batch_op:
        batch_op.create_index('ix_notification_channels_module',
                              ['module_id', 'channel_expiry'], unique=False)
    op.create_table(
        'delivery_attempts',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  autoincrement=True, nullable=False),
        sa.Column('outbox_id', sa.BigInteger(), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('attempted_time', sa.DateTime(), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('delivery_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_attempts_outbox', ['outbox_id', 'attempt'],
                              unique=False)
    with op.batch_alter_table('webhook_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel_key', sa.String(length=120), nullable=True))
        batch_op.create_index('ix_webhook_outbox_channel', ['channel_key', 'status', 'id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('webhook_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_outbox_channel')
        batch_op.drop_column('channel_key')
    with op.batch_alter_table('delivery_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_attempts_outbox')
    op.drop_table('delivery_attempts')
    with op.batch_alter_table('notification_channels', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_channels_module')
    op.drop_table('notification_channels')
