"""tags (issue 10, item 5)

Revision ID: 0006_tags_attachments
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_tags_attachments'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tags',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('module_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('color_code', sa.String(length=10), nullable=True),
    sa.Column('created_by', sa.BigInteger(), nullable=False),
    sa.Column('created_time', sa.DateTime(), nullable=False),
    sa.Column('modified_by', sa.BigInteger(), nullable=False),
    sa.Column('modified_time', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.create_index('ix_tags_module', ['module_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.drop_index('ix_tags_module')
    op.drop_table('tags')
