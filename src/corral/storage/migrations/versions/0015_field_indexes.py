"""records: a partial expression index per (module, field) for searches

The mapping from data type to index kind is frozen here as it stood at this revision
(`metadata/field_indexes.py` keeps the live one; `corral serve` repairs any difference at
start, comparing index names).

Revision ID: 0015_field_indexes
Revises: 0014_text_search
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from corral.storage.repositories.field_indexes import FieldIndexRepository, WantedIndex

revision = '0015_field_indexes'
down_revision = '0014_text_search'
branch_labels = None
depends_on = None

_MIN_RECORDS = 5000
_COLUMN_FIELDS = {"Owner", "Created_By", "Modified_By", "Created_Time", "Modified_Time"}
_DEFAULT_LENGTHS = {"text": 255, "email": 100, "phone": 30, "website": 255, "picklist": 120}
_KINDS: dict[str, Any] = {
    **dict.fromkeys(("text", "email", "phone", "website", "picklist"), "itext"),
    **dict.fromkeys(("lookup", "ownerlookup", "date", "datetime"), "text"),
    **dict.fromkeys(("integer", "double", "currency", "percent", "decimal"), "float"),
    "bigint": "bigint", "boolean": "boolean",
}


def _wanted(row: Any) -> WantedIndex | None:
    kind = _KINDS.get(row.data_type)
    if kind is None or row.api_name in _COLUMN_FIELDS:
        return None
    if kind == "itext" and (row.length or _DEFAULT_LENGTHS[row.data_type]) > 500:
        return None
    return WantedIndex(int(row.id), row.api_name, kind)


def upgrade() -> None:
    conn = op.get_bind()
    repo = FieldIndexRepository()
    # Only modules holding this many live records get indexes (metadata/field_indexes.py says
    # why); a test may lower it through the Alembic config's attributes.
    least = int(op.get_context().config.attributes.get("index_min_records", _MIN_RECORDS))
    sizes = repo.module_sizes(conn)
    wanted: dict[int, list[WantedIndex]] = {}
    for row in conn.execute(sa.text(
            "SELECT id, module_id, api_name, data_type, length FROM fields")):
        w = _wanted(row)
        wanted.setdefault(int(row.module_id), [])
        if w is not None and sizes.get(int(row.module_id), 0) >= least:
            wanted[int(row.module_id)].append(w)
    repo.sync(conn, wanted, every_module=True)


def downgrade() -> None:
    FieldIndexRepository().drop_all(op.get_bind())
