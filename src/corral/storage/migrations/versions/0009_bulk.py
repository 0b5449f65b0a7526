"""bulk write / bulk read: uploaded files, result parts, job item rows

Revision ID: 0009_bulk
Revises: 0008_users_roles_currencies
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009_bulk'
down_revision = '0008_users_roles_currencies'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bulk_files",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("file_name", sa.String(500), nullable=True),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("created_by", sa.BigInteger, nullable=False),
        sa.Column("created_time", sa.DateTime, nullable=False),
    )
    op.create_table(
        "bulk_result_parts",
        sa.Column("job_id", sa.BigInteger, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("job_id", "seq", name="pk_bulk_result_parts"),
    )
    op.add_column("job_items", sa.Column("data", sa.JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("job_items", "data")
    op.drop_table("bulk_result_parts")
    op.drop_table("bulk_files")
