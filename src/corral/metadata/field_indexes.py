"""Which fields get an expression index for searches, and keeping the indexes in step with the
fields (`storage/repositories/field_indexes.py` does the DDL).

The kind follows how `records/query.py` and `records/coql_compile.py` compare the field:
text-like fields ignoring case (equals, in, starts with), lookups, dates and datetimes as their
stored text (ids, ISO text: equality and ranges), numbers as floats, long integers exactly,
booleans. Long text (text areas, text fields longer than `MAX_INDEXED_LENGTH`), multi-select
picklists and subforms get none: a B-tree entry has a size limit on PostgreSQL (~2.7 kB) that a
long value could exceed and so make its INSERT fail, and their searches are substring searches.
"""

from __future__ import annotations

from collections.abc import Iterable

from corral.metadata.model import Field, Module
from corral.storage.database import Tx
from corral.storage.field_values import IndexKind
from corral.storage.repositories.field_indexes import (
    FieldIndexRepository,
    IndexChanges,
    WantedIndex,
)

FOLDED_TEXT = frozenset({"text", "email", "phone", "website", "picklist"})
RAW_TEXT = frozenset({"lookup", "ownerlookup", "date", "datetime"})
FLOATS = frozenset({"integer", "double", "currency", "percent", "decimal"})
# Characters; at most 4 bytes each (lower() grows none of the 4-byte ones), so an entry stays
# well under PostgreSQL's 2,704-byte B-tree limit.
MAX_INDEXED_LENGTH = 500
# Live records from which a module's fields get indexes (see `FieldIndexes`): a scan of
# fewer takes milliseconds.
INDEX_MIN_RECORDS = 5000


def index_kind(f: Field) -> IndexKind | None:
    """The index a field gets (None: no index; real columns have their own)."""
    dt = f.data_type
    if f.column is not None:
        return None
    if dt in FOLDED_TEXT:
        length = f.max_length
        return "itext" if length is not None and length <= MAX_INDEXED_LENGTH else None
    if dt in RAW_TEXT:
        return "text"
    if dt in FLOATS:
        return "float"
    if dt == "bigint":
        return "bigint"
    if dt == "boolean":
        return "boolean"
    return None


def wanted_indexes(module: Module) -> list[WantedIndex]:
    return [WantedIndex(f.id, f.api_name, kind) for f in module.fields
            if (kind := index_kind(f)) is not None]


class FieldIndexes:
    """Brings the field indexes of modules in line with their fields.

    Only modules with at least `min_records` live records get them (and keep them once they
    have them): every index on `records` costs every INSERT into it something, whichever module
    the row belongs to (SQLite opens a cursor on each index for each row, partial or not), so
    indexes for all ~20 fields of all ~17 modules would make every write several times slower,
    while a search of a small module is fast without them."""

    def __init__(self) -> None:
        self._repo = FieldIndexRepository()

    def _wanted(self, tx: Tx, modules: Iterable[Module], min_records: int,
                ) -> dict[int, list[WantedIndex]]:
        indexed = set(self._repo.names(tx).values())
        sizes = self._repo.module_sizes(tx) if min_records > 0 else {}
        return {m.id: wanted_indexes(m) if m.id in indexed or sizes.get(m.id, 0) >= min_records
                else [] for m in modules}

    def differences(self, tx: Tx, modules: Iterable[Module], *, min_records: int,
                    every_module: bool = False) -> IndexChanges:
        """What `sync` would change (a read)."""
        return self._repo.differences(tx, self._wanted(tx, modules, min_records),
                                      every_module=every_module)

    def sync(self, tx: Tx, modules: Iterable[Module], *, min_records: int = 0,
             every_module: bool = False) -> IndexChanges:
        """Create missing and drop stale indexes of `modules` (with `every_module`, `modules`
        are all there are: indexes of any other module are dropped too)."""
        return self._repo.sync(tx, self._wanted(tx, modules, min_records),
                               every_module=every_module)

    def optimize(self, tx: Tx) -> bool:
        """Re-analyse what grew (SQLite); whether the planner's statistics changed."""
        return self._repo.optimize(tx)

    def analyze(self, tx: Tx) -> None:
        self._repo.analyze(tx)
