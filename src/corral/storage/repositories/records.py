"""Record rows: load, insert, update, soft delete and lookups by key or id."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.bulk import execute_tuples
from corral.storage.database import Tx
from corral.storage.repositories.text_index import indexing_text


@dataclass(slots=True)
class StoredRecord:
    """One record as stored: field values in `data`, audit columns beside them."""

    id: int
    module_id: int
    data: dict[str, Any]
    owner_id: int
    created_by: int
    modified_by: int
    created_time: datetime
    modified_time: datetime
    converted: bool = False
    approval_state: str = "approved"
    deleted_time: datetime | None = None
    deleted_by: int | None = None


    def modified(self, by: int, at: datetime) -> StoredRecord:
        """A copy with its own `data` dict, stamped as modified by `by` at `at` (what
        dataclasses.replace would give, without its per-call introspection)."""
        return StoredRecord(id=self.id, module_id=self.module_id, data=dict(self.data),
                            owner_id=self.owner_id, created_by=self.created_by,
                            modified_by=by, created_time=self.created_time, modified_time=at,
                            converted=self.converted, approval_state=self.approval_state,
                            deleted_time=self.deleted_time, deleted_by=self.deleted_by)


def record_from_row(row: Any) -> StoredRecord:
    return StoredRecord(
        id=row.id, module_id=row.module_id, data=row.data or {}, owner_id=row.owner_id,
        created_by=row.created_by, modified_by=row.modified_by,
        created_time=row.created_time, modified_time=row.modified_time,
        converted=row.converted, approval_state=row.approval_state,
        deleted_time=row.deleted_time, deleted_by=row.deleted_by)


# Rows of the hot executemany statements as tuples (attrgetter: one C call per record).
_ROW_COLUMNS = ("id", "module_id", "data", "owner_id", "created_by", "modified_by",
                "created_time", "modified_time", "deleted_time", "deleted_by", "converted",
                "approval_state")
_row_tuple = attrgetter(*_ROW_COLUMNS)
_UPDATE_ATTRS = ("id", "data", "owner_id", "modified_by", "modified_time", "approval_state")
_UPDATE_KEYS = ("rid", *_UPDATE_ATTRS[1:])  # the statement's parameter names
_update_tuple = attrgetter(*_UPDATE_ATTRS)
_STATE_ATTRS = ("converted", "deleted_time", "deleted_by")
_UPDATE_STATE_KEYS = (*_UPDATE_KEYS, *_STATE_ATTRS)
_update_state_tuple = attrgetter(*_UPDATE_ATTRS, *_STATE_ATTRS)

_INSERT = sa.insert(t.records)
_UPDATE = (sa.update(t.records).where(t.records.c.id == sa.bindparam("rid"))
           .values(data=sa.bindparam("data"), owner_id=sa.bindparam("owner_id"),
                   modified_by=sa.bindparam("modified_by"),
                   modified_time=sa.bindparam("modified_time"),
                   approval_state=sa.bindparam("approval_state")))
_UPDATE_WITH_STATE = _UPDATE.values(converted=sa.bindparam("converted"),
                                    deleted_time=sa.bindparam("deleted_time"),
                                    deleted_by=sa.bindparam("deleted_by"))


# Built once: the write path loads records every batch, and building a statement (and its
# cache key) costs more Python than running it.
_LOAD_ANY_STATE = sa.select(t.records).where(
    t.records.c.id.in_(sa.bindparam("ids", expanding=True)),
    t.records.c.module_id == sa.bindparam("mid"))
_LOAD_LIVE = _LOAD_ANY_STATE.where(t.records.c.deleted_time.is_(None))


class RecordRepository:
    def load(self, tx: Tx, module_id: int, ids: Iterable[int], *,
             live_only: bool = True) -> dict[int, StoredRecord]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        q = _LOAD_LIVE if live_only else _LOAD_ANY_STATE
        return {r.id: record_from_row(r) for r in tx.execute(q, {"ids": wanted,
                                                                 "mid": module_id})}

    def load_any(self, tx: Tx, ids: Iterable[int]) -> dict[int, StoredRecord]:
        """Records of any module, live or deleted (display names, owners)."""
        wanted = list(set(ids))
        if not wanted:
            return {}
        return {r.id: record_from_row(r)
                for r in tx.execute(sa.select(t.records).where(t.records.c.id.in_(wanted)))}

    def live_ids(self, tx: Tx, module_id: int, ids: Collection[int]) -> set[int]:
        """Which of `ids` are live records of the module."""
        if not ids:
            return set()
        return {r[0] for r in tx.execute(
            sa.select(t.records.c.id).where(t.records.c.id.in_(list(ids)),
                                            t.records.c.module_id == module_id,
                                            t.records.c.deleted_time.is_(None)))}

    def insert_many(self, tx: Tx, recs: Sequence[StoredRecord]) -> None:
        """Insert the records (one executemany) and index their text (`text_index`)."""
        if not recs:
            return
        with indexing_text(tx):
            execute_tuples(tx, _INSERT, _ROW_COLUMNS, [_row_tuple(r) for r in recs])

    def update_many(self, tx: Tx, recs: Sequence[StoredRecord], *,
                    with_state: bool = False) -> None:
        """Write the data, owner, modification and approval columns of the given records (one
        executemany); `with_state` also the deleted and converted columns. Their text is
        re-indexed where it changed (`text_index`)."""
        if not recs:
            return
        with indexing_text(tx):
            if with_state:
                execute_tuples(tx, _UPDATE_WITH_STATE, _UPDATE_STATE_KEYS,
                               [_update_state_tuple(r) for r in recs])
            else:
                execute_tuples(tx, _UPDATE, _UPDATE_KEYS, [_update_tuple(r) for r in recs])

    def earliest_by_key(self, tx: Tx, field_id: int, key: str) -> StoredRecord | None:
        """The earliest created live, unconverted record holding `key` in the field."""
        row = tx.execute(
            sa.select(t.records).join(t.record_keys, t.record_keys.c.record_id == t.records.c.id)
            .where(t.record_keys.c.field_id == field_id, t.record_keys.c.value == key,
                   t.record_keys.c.converted.is_(False), t.records.c.deleted_time.is_(None))
            .order_by(t.records.c.created_time, t.records.c.id).limit(1)).first()
        return record_from_row(row) if row is not None else None

    def created_and_owner(self, tx: Tx, ids: Collection[int]) -> dict[int, tuple[datetime, int]]:
        if not ids:
            return {}
        return {r.id: (r.created_time, r.owner_id) for r in tx.execute(
            sa.select(t.records.c.id, t.records.c.created_time, t.records.c.owner_id)
            .where(t.records.c.id.in_(list(ids))))}

    def display_values(self, tx: Tx, ids: Collection[int]) -> dict[int, dict[str, Any]]:
        """id -> data of the given records (for display names of lookups)."""
        if not ids:
            return {}
        return {r.id: dict(r.data or {}) for r in tx.execute(
            sa.select(t.records.c.id, t.records.c.data).where(t.records.c.id.in_(list(ids))))}

    def of_module(self, tx: Tx, module_id: int) -> Iterable[StoredRecord]:
        """Every live record of a module, streamed earliest created first (key rebuilds)."""
        q = (sa.select(t.records).where(t.records.c.module_id == module_id,
                                        t.records.c.deleted_time.is_(None))
             .order_by(t.records.c.created_time, t.records.c.id)
             .execution_options(yield_per=2000))
        for row in tx.execute(q):
            yield record_from_row(row)
