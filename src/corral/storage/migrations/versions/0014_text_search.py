"""text search: pg_trgm on PostgreSQL, and a text index for every module's text fields

Revision ID: 0014_text_search
Revises: 0013_emulator_state
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from corral.storage.filters import IndexedText
from corral.storage.repositories.text_index import TextIndexRepository, indexable_key

revision = '0014_text_search'
down_revision = '0013_emulator_state'
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

# As metadata/text_index.py decides at this revision (a migration keeps its own copy).
_INDEXED_TYPES = ("text", "textarea", "email", "phone", "website", "picklist")
_COLUMN_FIELDS = ("Owner", "Created_By", "Modified_By", "Created_Time", "Modified_Time")


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        try:  # trusted since PostgreSQL 13; without it searches scan, as before
            with conn.begin_nested():
                conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except sa.exc.DBAPIError as exc:
            log.warning("pg_trgm could not be created (%s): text searches will scan",
                        type(exc).__name__)
    fields: dict[int, list[IndexedText]] = {}
    for row in conn.execute(sa.text("SELECT id, module_id, api_name, data_type FROM fields")):
        if (row.data_type in _INDEXED_TYPES and row.api_name not in _COLUMN_FIELDS
                and indexable_key(row.api_name)):
            fields.setdefault(int(row.module_id), []).append(IndexedText(int(row.id),
                                                                         row.api_name))
    repo = TextIndexRepository()
    for module_id in sorted(fields):
        repo.sync(conn, module_id, fields[module_id])


def downgrade() -> None:
    conn = op.get_bind()
    repo = TextIndexRepository()
    for (module_id,) in list(conn.execute(sa.text("SELECT id FROM modules"))):
        repo.sync(conn, int(module_id), [])
