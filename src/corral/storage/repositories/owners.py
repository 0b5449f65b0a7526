"""Users as record owners: who may own a record, and how an owner is named in an error."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx


@dataclass(frozen=True)
class OwnerName:
    id: int
    name: str
    zuid: str


_ACTIVE_IDS = sa.select(t.users.c.id).where(t.users.c.status == "active")  # built once


class OwnerRepository:
    def active_ids(self, tx: Tx) -> set[int]:
        return {r[0] for r in tx.execute(_ACTIVE_IDS)}

    def names(self, tx: Tx, ids: Collection[int]) -> dict[int, OwnerName]:
        if not ids:
            return {}
        out: dict[int, OwnerName] = {}
        for r in tx.execute(sa.select(t.users.c.id, t.users.c.first_name, t.users.c.last_name,
                                      t.users.c.zuid).where(t.users.c.id.in_(list(ids)))):
            name = f"{r.first_name} {r.last_name}" if r.first_name else r.last_name
            out[r.id] = OwnerName(r.id, name, r.zuid)
        return out
