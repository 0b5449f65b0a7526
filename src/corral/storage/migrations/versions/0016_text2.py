"""text index: the SQLite update triggers re-index a record only when an indexed value changed

Existing FTS5 tables keep their contents (same columns); only their triggers are replaced
(`TextIndexRepository.sync` rebuilds a table only when its fields differ). PostgreSQL: nothing.

Revision ID: 0016_text2
Revises: 0015_field_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from corral.storage.filters import IndexedText
from corral.storage.repositories.text_index import TextIndexRepository, indexable_key

revision = '0016_text2'
down_revision = '0015_field_indexes'
branch_labels = None
depends_on = None

# As metadata/text_index.py decides at this revision (a migration keeps its own copy).
_INDEXED_TYPES = ("text", "textarea", "email", "phone", "website", "picklist")
_COLUMN_FIELDS = ("Owner", "Created_By", "Modified_By", "Created_Time", "Modified_Time")


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
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
    # The new triggers keep the index exactly as the old ones did (they skip only updates
    # that leave every indexed value as it was); an older Corral's `sync` replaces them.
    pass
