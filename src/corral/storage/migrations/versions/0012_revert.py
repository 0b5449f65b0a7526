"""change_log: the source of each write, and indexes to find a request's or a job's writes

Revision ID: 0012_revert
Revises: 0011_idempotency
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012_revert'
down_revision = '0011_idempotency'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("change_log") as batch:
        batch.add_column(sa.Column("source", sa.String(length=40), nullable=True))
    op.create_index("ix_change_log_request", "change_log", ["request_id"])
    op.create_index("ix_change_log_job", "change_log", ["job_id"])


def downgrade() -> None:
    op.drop_index("ix_change_log_job", table_name="change_log")
    op.drop_index("ix_change_log_request", table_name="change_log")
    with op.batch_alter_table("change_log") as batch:
        batch.drop_column("source")
