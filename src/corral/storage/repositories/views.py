"""Custom views: one view, a module's views, the name clash check and insert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx


@dataclass(frozen=True)
class StoredView:
    """A custom view as stored; `criteria` is the v8 criteria JSON text (None: no criteria),
    `owner_id` None for system views, which everyone sees."""

    id: int
    module_id: int
    name: str
    system_name: str | None
    system_defined: bool
    is_default: bool
    criteria: str | None
    owner_id: int | None
    shared: bool
    created_time: datetime
    modified_time: datetime


def _view_from_row(row: Any) -> StoredView:
    return StoredView(id=row.id, module_id=row.module_id, name=row.name,
                      system_name=row.system_name, system_defined=row.system_defined,
                      is_default=row.is_default, criteria=row.criteria, owner_id=row.owner_id,
                      shared=row.shared, created_time=row.created_time,
                      modified_time=row.modified_time)


class ViewRepository:
    def get(self, tx: Tx, module_id: int, view_id: int) -> StoredView | None:
        """The view `view_id` if it belongs to the module."""
        row = tx.execute(sa.select(t.custom_views).where(
            t.custom_views.c.id == view_id, t.custom_views.c.module_id == module_id)).first()
        return _view_from_row(row) if row is not None else None

    def of_module(self, tx: Tx, module_id: int) -> list[StoredView]:
        """Every view of the module, in id order."""
        return [_view_from_row(r) for r in tx.execute(
            sa.select(t.custom_views).where(t.custom_views.c.module_id == module_id)
            .order_by(t.custom_views.c.id))]

    def name_taken(self, tx: Tx, module_id: int, name: str) -> bool:
        """Whether the module has a view of this name, ignoring case."""
        return tx.execute(sa.select(t.custom_views.c.id).where(
            t.custom_views.c.module_id == module_id,
            sa.func.lower(t.custom_views.c.name) == name.lower())).first() is not None

    def insert(self, tx: Tx, view: StoredView) -> None:
        tx.execute(sa.insert(t.custom_views).values(
            id=view.id, module_id=view.module_id, name=view.name, system_name=view.system_name,
            system_defined=view.system_defined, is_default=view.is_default,
            criteria=view.criteria, owner_id=view.owner_id, shared=view.shared,
            created_time=view.created_time, modified_time=view.modified_time))
