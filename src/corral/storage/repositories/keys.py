"""record_keys: normalised values of duplicate-check and unique fields, one row per holder.

The partial unique index over rows of unique fields is the last guard against two live records
sharing a unique value; `KeyRepository` is the only writer of these rows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import NamedTuple

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.bulk import execute_many
from corral.storage.database import Tx

CHUNK = 500
_INSERT = sa.insert(t.record_keys)
_DELETE = sa.delete(t.record_keys).where(t.record_keys.c.record_id == sa.bindparam("r"),
                                         t.record_keys.c.field_id == sa.bindparam("f"),
                                         t.record_keys.c.value == sa.bindparam("v"))
# Built once (the write path asks every batch): statement building costs more than the query.
_HOLDERS = (sa.select(t.record_keys.c.value, t.record_keys.c.record_id)
            .where(t.record_keys.c.field_id == sa.bindparam("fid"),
                   t.record_keys.c.converted.is_(False),
                   t.record_keys.c.value.in_(sa.bindparam("values", expanding=True))))
_HOLDERS_CONVERTED = (sa.select(t.record_keys.c.value, t.record_keys.c.record_id)
                      .where(t.record_keys.c.field_id == sa.bindparam("fid"),
                             t.record_keys.c.converted.is_(True),
                             t.record_keys.c.value.in_(sa.bindparam("values", expanding=True))))


class KeyRow(NamedTuple):
    field_id: int
    value: str
    record_id: int
    is_unique: bool


class KeyRepository:
    def holders(self, tx: Tx, candidates: Mapping[int, Collection[str]], *,
                converted: bool = False) -> dict[tuple[int, str], set[int]]:
        """Who holds each candidate key, one query per field (per 500 values).

        Converted Leads hold keys only for the converted_records preference.
        """
        out: dict[tuple[int, str], set[int]] = {}
        q = _HOLDERS_CONVERTED if converted else _HOLDERS
        for fid, keys in candidates.items():
            ordered = sorted(keys)
            for chunk in (ordered[i:i + CHUNK] for i in range(0, len(ordered), CHUNK)):
                for value, record_id in tx.execute(q, {"fid": fid, "values": chunk}):
                    out.setdefault((fid, value), set()).add(record_id)
        return out

    def apply(self, tx: Tx, removed: Iterable[tuple[int, int, str]],
              added: Iterable[KeyRow]) -> None:
        """Remove (record, field, value) rows, then add rows: one executemany each."""
        gone = [{"r": r, "f": f, "v": v} for r, f, v in removed]
        new = [{"field_id": k.field_id, "value": k.value, "record_id": k.record_id,
                "is_unique": k.is_unique} for k in added]
        execute_many(tx, _DELETE, gone)
        execute_many(tx, _INSERT, new)

    def release(self, tx: Tx, record_ids: Collection[int]) -> None:
        """Every key of the given records (deleted records hold none)."""
        if record_ids:
            tx.execute(sa.delete(t.record_keys)
                       .where(t.record_keys.c.record_id.in_(list(record_ids))))

    def mark_converted(self, tx: Tx, record_ids: Collection[int]) -> None:
        """A converted Lead's keys leave the unique checks but stay for the preference."""
        if record_ids:
            tx.execute(sa.update(t.record_keys)
                       .where(t.record_keys.c.record_id.in_(list(record_ids)))
                       .values(converted=True, is_unique=False))

    def replace_field(self, tx: Tx, field_id: int, rows: Iterable[KeyRow]) -> None:
        """Rebuild the keys of one field (it became unique); converted Leads keep theirs."""
        tx.execute(sa.delete(t.record_keys).where(t.record_keys.c.field_id == field_id,
                                                  t.record_keys.c.converted.is_(False)))
        batch: list[KeyRow] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 5000:
                self.apply(tx, [], batch)
                batch = []
        self.apply(tx, [], batch)

    def set_field_unique(self, tx: Tx, field_id: int, unique: bool) -> None:
        tx.execute(sa.update(t.record_keys).where(t.record_keys.c.field_id == field_id,
                                                  t.record_keys.c.converted.is_(False))
                   .values(is_unique=unique))

    def drop_field(self, tx: Tx, field_id: int) -> None:
        tx.execute(sa.delete(t.record_keys).where(t.record_keys.c.field_id == field_id))
