"""idempotency keys (issue 14, item 1)

Revision ID: 0011_idempotency
Revises: 0010_notifications
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011_idempotency'
down_revision = '0010_notifications'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotency_keys',
    sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('created_time', sa.DateTime(), nullable=False),
    sa.Column('expires_time', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'key')
    )
    op.create_index(op.f('ix_idempotency_keys_expires_time'), 'idempotency_keys',
                    ['expires_time'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_idempotency_keys_expires_time'), table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
