"""text index: SQLite writes queue their records and index them in one statement per write

The `records` triggers of each module's FTS5 table now queue the record in
`text_index_pending` instead of writing the FTS5 table row by row; a trigger on the queue
indexes it (see `storage/repositories/text_index.py`). The FTS5 tables keep their contents;
only the triggers are replaced. PostgreSQL: nothing.

Revision ID: 0017_text_queue
Revises: 0016_text2
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from corral.storage.filters import IndexedText
from corral.storage.repositories.text_index import (
    PENDING_DDL,
    TextIndexRepository,
    indexable_key,
)

revision = '0017_text_queue'
down_revision = '0016_text2'
branch_labels = None
depends_on = None

# As metadata/text_index.py decides at this revision (a migration keeps its own copy).
_INDEXED_TYPES = ("text", "textarea", "email", "phone", "website", "picklist")
_COLUMN_FIELDS = ("Owner", "Created_By", "Modified_By", "Created_Time", "Modified_Time")


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql(PENDING_DDL)
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
    # Index what is queued, then leave the queue: an older Corral's `sync` replaces the
    # triggers (they differ from its own), and its searches do not read the queue.
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DELETE FROM text_index_pending")
