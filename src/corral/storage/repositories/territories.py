"""Territories (a parent/child hierarchy) and the territories records are assigned to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx


@dataclass(frozen=True)
class Territory:
    id: int
    name: str
    api_name: str
    parent_id: int | None
    description: str | None
    manager_id: int | None
    created_by: int
    created_time: datetime
    modified_time: datetime


def _territory(row: Any) -> Territory:
    return Territory(id=row.id, name=row.name, api_name=row.api_name, parent_id=row.parent_id,
                     description=row.description, manager_id=row.manager_id,
                     created_by=row.created_by, created_time=row.created_time,
                     modified_time=row.modified_time)


class TerritoryRepository:
    def all_territories(self, tx: Tx) -> list[Territory]:
        """Every territory in id order."""
        return [_territory(r) for r in tx.execute(
            sa.select(t.territories).order_by(t.territories.c.id))]

    def territory_ids(self, tx: Tx) -> set[int]:
        return {int(r[0]) for r in tx.execute(sa.select(t.territories.c.id))}

    def territory_exists(self, tx: Tx, territory_id: int) -> bool:
        return tx.execute(sa.select(t.territories.c.id).where(
            t.territories.c.id == territory_id)).first() is not None

    def territory_name_taken(self, tx: Tx, name: str) -> bool:
        """Exact comparison, as the unique index on the name compares."""
        return tx.execute(sa.select(t.territories.c.id).where(
            t.territories.c.name == name)).first() is not None

    def add_territory(self, tx: Tx, territory: Territory) -> None:
        tx.execute(sa.insert(t.territories).values(
            id=territory.id, name=territory.name, api_name=territory.api_name,
            parent_id=territory.parent_id, description=territory.description,
            manager_id=territory.manager_id, created_by=territory.created_by,
            created_time=territory.created_time, modified_time=territory.modified_time))

    def is_live_record(self, tx: Tx, module_id: int, record_id: int) -> bool:
        """Whether the record exists in the module and is not deleted."""
        return tx.execute(sa.select(t.records.c.id).where(
            t.records.c.id == record_id, t.records.c.module_id == module_id,
            t.records.c.deleted_time.is_(None))).first() is not None

    def territories_of_record(self, tx: Tx, record_id: int) -> set[int]:
        return {int(r[0]) for r in tx.execute(
            sa.select(t.record_territories.c.territory_id)
            .where(t.record_territories.c.record_id == record_id))}

    def assign_territories(self, tx: Tx, record_id: int, territory_ids: Iterable[int]) -> None:
        """Add assignments; the caller leaves out territories the record already has."""
        rows = [{"record_id": record_id, "territory_id": x} for x in territory_ids]
        if rows:
            tx.execute(sa.insert(t.record_territories), rows)
