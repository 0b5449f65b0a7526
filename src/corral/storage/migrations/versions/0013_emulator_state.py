"""emulator_state, emulator_faults, emulator_credits, emulator_journal: the emulator's state in
the database, shared by every server process

Revision ID: 0013_emulator_state
Revises: 0012_revert
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013_emulator_state'
down_revision = '0012_revert'
branch_labels = None
depends_on = None


def upgrade() -> None:
    state = op.create_table(
        "emulator_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("generation", sa.BigInteger, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("frozen_at", sa.DateTime, nullable=True),
        sa.Column("worker_paused", sa.Boolean, nullable=False),
        sa.Column("edition", sa.String(20), nullable=True),
        sa.Column("users", sa.Integer, nullable=False),
        sa.Column("spent", sa.BigInteger, nullable=False),
        sa.Column("in_flight", sa.Integer, nullable=False),
        sa.Column("heavy", sa.Integer, nullable=False),
        sa.Column("journal_next", sa.BigInteger, nullable=False),
        sa.Column("fault_next", sa.BigInteger, nullable=False),
        sa.Column("slots", sa.Integer, nullable=False),
    )
    op.bulk_insert(state, [{"id": 1, "generation": 0, "version": 0, "frozen_at": None,
                            "worker_paused": False, "edition": None, "users": 1, "spent": 0,
                            "in_flight": 0, "heavy": 0, "journal_next": 0, "fault_next": 0,
                            "slots": 0}])
    op.create_table(
        "emulator_faults",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("method", sa.String(10), nullable=True),
        sa.Column("path", sa.String(2000), nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("code", sa.String(100), nullable=True),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("latency_ms", sa.Integer, nullable=False),
        sa.Column("probability", sa.Float, nullable=False),
        sa.Column("times", sa.Integer, nullable=True),
        sa.Column("hits", sa.Integer, nullable=False),
    )
    op.create_table(
        "emulator_credits",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("spent_at", sa.DateTime, nullable=False),
        sa.Column("credits", sa.Integer, nullable=False),
    )
    op.create_index("ix_emulator_credits_spent_at", "emulator_credits", ["spent_at"])
    op.create_table(
        "emulator_journal",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("time", sa.DateTime, nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(2000), nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("code", sa.String(100), nullable=True),
        sa.Column("credits", sa.Integer, nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("request_body", sa.Text, nullable=True),
        sa.Column("response_body", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("emulator_journal")
    op.drop_index("ix_emulator_credits_spent_at", table_name="emulator_credits")
    op.drop_table("emulator_credits")
    op.drop_table("emulator_faults")
    op.drop_table("emulator_state")
