"""blueprints: a picklist field's states and transitions, stored as one definition each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx


@dataclass(frozen=True)
class BlueprintRow:
    id: int
    name: str
    field_id: int
    definition: dict[str, Any]


# Built once: the write path asks every batch.
_ACTIVE = (sa.select(t.blueprints).where(t.blueprints.c.module_id == sa.bindparam("mid"),
                                         t.blueprints.c.active.is_(True))
           .order_by(t.blueprints.c.id))


class BlueprintRepository:
    def active(self, tx: Tx, module_id: int) -> list[BlueprintRow]:
        return [BlueprintRow(r.id, r.name, r.field_id, r.definition)
                for r in tx.execute(_ACTIVE, {"mid": module_id})]

    def add(self, tx: Tx, *, id: int, module_id: int, field_id: int, name: str,
            definition: dict[str, Any], created_by: int, created_time: datetime) -> None:
        tx.execute(sa.insert(t.blueprints).values(
            id=id, module_id=module_id, field_id=field_id, name=name, definition=definition,
            active=True, created_by=created_by, created_time=created_time))
