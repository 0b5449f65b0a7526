"""Per-field expression indexes on `records`: one partial B-tree index per (module, field),
`ix_rf_<module id>_<field id>_<digest>` over the field's value as queries read it
(`storage/field_values.py`), `WHERE module_id = <module id> AND <the record has the field>`
(SQLite: `<value> IS NOT NULL`; PostgreSQL: the JSON text names it, `names_key`): a record
that lacks the field costs the index nothing but that predicate (see `_index`).

The database maintains them in every write's transaction; this repository only creates and
drops them as fields come and go. The name's digest covers the api name and the index kind,
so a field whose type (and so its kind) changes gets a new index and loses the old one; it
also covers the dialect's FORM, so a database built with an older definition gets the new
one at the next `sync` (at start, or from the background loop).
Which fields get which kind is decided above storage (`metadata/field_indexes.py`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx
from corral.storage.field_values import (
    IDENTIFIER,
    IndexKind,
    indexed_value,
    key_position_pg,
    literal_int,
    names_key,
)

PREFIX = "ix_rf_"
# Part of every index's name: changing how a dialect's indexes are built (their expression or
# WHERE) means a new FORM for it, and the next `sync` replaces its every index. PostgreSQL:
# 4 stored an entry for every record of the module, 5 (never released) `<value> IS NOT NULL`,
# 6 `names_key`.
FORMS = {"sqlite": 4, "postgresql": 6}
_NAME = re.compile(r"^ix_rf_([0-9]+)_([0-9]+)_[0-9a-f]{8}$")


@dataclass(frozen=True)
class WantedIndex:
    """A field that should have an index of `kind` (its api name must be an identifier)."""

    field_id: int
    api_name: str
    kind: IndexKind


@dataclass(frozen=True)
class IndexChanges:
    created: tuple[str, ...]
    dropped: tuple[str, ...]

    @property
    def any(self) -> bool:
        return bool(self.created or self.dropped)


def index_name(module_id: int, wanted: WantedIndex, dialect: str) -> str:
    form = FORMS[dialect]
    digest = hashlib.sha1(f"{wanted.api_name}\0{wanted.kind}\0{form}".encode()).hexdigest()[:8]
    return f"{PREFIX}{int(module_id)}_{int(wanted.field_id)}_{digest}"


class FieldIndexRepository:
    def names(self, tx: Tx) -> dict[str, int]:
        """Every field index that exists -> its module id."""
        if tx.dialect.name == "sqlite":
            query = sa.text("SELECT name FROM sqlite_master WHERE type = 'index'"
                            " AND tbl_name = 'records'")
        else:
            query = sa.text("SELECT indexname FROM pg_indexes WHERE tablename = 'records'"
                            " AND schemaname = current_schema()")
        found: dict[str, int] = {}
        for (name,) in tx.execute(query):
            m = _NAME.match(name)
            if m:
                found[name] = int(m.group(1))
        return found

    def module_sizes(self, tx: Tx) -> dict[int, int]:
        """Live records per module (one pass over the module index)."""
        col = t.records.c.module_id
        return {int(m): int(n) for m, n in tx.execute(
            sa.select(col, sa.func.count()).where(t.records.c.deleted_time.is_(None))
            .group_by(col))}

    def differences(self, tx: Tx, wanted: Mapping[int, Sequence[WantedIndex]], *,
                    every_module: bool = False) -> IndexChanges:
        """What `sync` would create and drop (a read: nothing changes)."""
        existing = self.names(tx)
        want = _named(wanted, tx.dialect.name)
        dropped = tuple(sorted(n for n, m in existing.items()
                               if n not in want and (every_module or m in wanted)))
        return IndexChanges(tuple(sorted(n for n in want if n not in existing)), dropped)

    def sync(self, tx: Tx, wanted: Mapping[int, Sequence[WantedIndex]], *,
             every_module: bool = False) -> IndexChanges:
        """Create the indexes of `wanted` (module id -> its fields) that are missing and drop
        those of these modules that are not wanted; with `every_module`, also drop the indexes
        of modules not in `wanted`. Updates the planner's statistics when it created any."""
        changes = self.differences(tx, wanted, every_module=every_module)
        want = _named(wanted, tx.dialect.name)
        for name in changes.dropped:  # names matched _NAME: digits and hex only
            _drop(tx, name)
        for name in changes.created:
            module_id, w = want[name]
            index = _index(name, module_id, w)
            tx.execute(sa.schema.CreateIndex(index))
            if tx.dialect.name == "postgresql":
                # PostgreSQL ignores a partial index's statistics when it estimates how many
                # rows a condition selects (selfuncs.c: examine_variable), and would guess
                # 0.5% for every equality on the field, and a third of the rows for the
                # `names_key` a search states beside it; expression statistics fill the
                # gap (and, as one object, see how the two go together).
                value = indexed_value(t.records, w.api_name, w.kind)
                expr = value.compile(dialect=tx.dialect, compile_kwargs={
                    "literal_binds": True, "include_table": False})
                position = key_position_pg("data", w.api_name)
                tx.execute(sa.text(f"CREATE STATISTICS IF NOT EXISTS {_statistics_name(name)}"
                                   f" ON ({expr}), ({position}) FROM records"))
        if changes.created:
            self.analyze(tx)
        return changes

    def drop_all(self, tx: Tx) -> None:
        for name in self.names(tx):
            _drop(tx, name)

    def analyze(self, tx: Tx) -> None:
        """Refresh the planner's statistics of `records` (SQLite reads each index whole:
        ~0.3 s per 100,000 records; its `analysis_limit` sampling is not used because it
        makes `module_id` look selective, ~2,000 records a module, and the planner then
        prefers the module index to a field index's range). SQLite connections keep the
        statistics they read when they opened: see `Database.reload_statistics`."""
        tx.exec_driver_sql("ANALYZE records")

    def optimize(self, tx: Tx) -> bool:
        """SQLite: re-analyse the tables whose size changed much since their statistics were
        taken (cheap when nothing did); whether the statistics changed. PostgreSQL's
        autovacuum does this on its own."""
        if tx.dialect.name != "sqlite":
            return False
        before = _statistics(tx)
        tx.exec_driver_sql("PRAGMA optimize=0x10002")
        return _statistics(tx) != before


def _statistics(tx: Tx) -> list[tuple[str, str]]:
    """The statistics of `records` (none before the first ANALYZE, which creates the table,
    or after a snapshot restore that brought none)."""
    if tx.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first() \
            is None:
        return []
    return [(str(i), str(s)) for i, s in tx.exec_driver_sql(
        "SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'records' ORDER BY idx")]


def _statistics_name(index: str) -> str:
    return "st_rf_" + index.removeprefix(PREFIX)


def _drop(tx: Tx, name: str) -> None:
    tx.execute(sa.text(f"DROP INDEX IF EXISTS {name}"))
    if tx.dialect.name == "postgresql":
        tx.execute(sa.text(f"DROP STATISTICS IF EXISTS {_statistics_name(name)}"))


def _named(wanted: Mapping[int, Sequence[WantedIndex]], dialect: str,
           ) -> dict[str, tuple[int, WantedIndex]]:
    return {index_name(m, w, dialect): (m, w) for m, ws in wanted.items() for w in ws
            if IDENTIFIER.match(w.api_name)}


def _index(name: str, module_id: int, wanted: WantedIndex) -> sa.Index:
    """The index over a private copy of `records`, so the shared table object gains none."""
    table = t.records.to_metadata(sa.MetaData())
    value = indexed_value(table, wanted.api_name, wanted.kind)
    # Without the records that lack the field: a typical record fills a few of its module's
    # fields, and an entry per record and field cost every write (bench/README.md,
    # "Field-index upkeep"). SQLite: `value IS NOT NULL`, which every comparison a search
    # makes implies (boolean `IS true` excepted: record_search states it); json_extract
    # reuses one parse of the document per statement, so the predicate is cheap.
    # PostgreSQL: `->>` parses the `json` text again for every index, so the predicate is
    # `names_key` (a text search, a superset of IS NOT NULL), which a search states beside
    # each comparison (`record_search._indexable`). `is null` / `not_equal` scan the module.
    # Statistics: SQLite's (rows per distinct key) would count NULL as one key and make an
    # equality on a sparse field look unselective without this predicate; PostgreSQL's
    # estimates come from the expression statistics `sync` creates over the whole table,
    # not from the partial index.
    in_module = table.c.module_id == literal_int(module_id)
    names = names_key(table, wanted.api_name)
    assert names is not None  # _named keeps identifiers only
    ops = {"v": "text_pattern_ops"} if wanted.kind == "itext" else {}  # see prefix_range
    return sa.Index(name, value.label("v"), sqlite_where=sa.and_(in_module, value.is_not(None)),
                    postgresql_where=sa.and_(in_module, names), postgresql_ops=ops)
