"""Tags of a module: list, read by id, insert, rename/recolour, delete."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx


@dataclass(frozen=True)
class StoredTag:
    id: int
    module_id: int
    name: str
    color_code: str | None
    created_by: int
    created_time: datetime
    modified_by: int
    modified_time: datetime


def _tag_from_row(row: Any) -> StoredTag:
    return StoredTag(id=int(row.id), module_id=int(row.module_id), name=row.name,
                     color_code=row.color_code, created_by=int(row.created_by),
                     created_time=row.created_time, modified_by=int(row.modified_by),
                     modified_time=row.modified_time)


class TagRepository:
    def of_module(self, tx: Tx, module_id: int) -> list[StoredTag]:
        """The module's tags, oldest first."""
        return [_tag_from_row(r) for r in tx.execute(
            sa.select(t.tags).where(t.tags.c.module_id == module_id).order_by(t.tags.c.id))]

    def by_ids(self, tx: Tx, ids: Collection[int]) -> dict[int, StoredTag]:
        if not ids:
            return {}
        return {int(r.id): _tag_from_row(r) for r in tx.execute(
            sa.select(t.tags).where(t.tags.c.id.in_(list(ids))))}

    def insert_many(self, tx: Tx, tags: Collection[StoredTag]) -> None:
        if tags:
            tx.execute(sa.insert(t.tags), [{**vars(tag), "name_key": tag.name.lower()}
                                           for tag in tags])

    def update(self, tx: Tx, tag: StoredTag) -> None:
        tx.execute(sa.update(t.tags).where(t.tags.c.id == tag.id).values(
            name=tag.name, name_key=tag.name.lower(), color_code=tag.color_code,
            modified_by=tag.modified_by, modified_time=tag.modified_time))

    def delete(self, tx: Tx, tag_id: int) -> None:
        tx.execute(sa.delete(t.tags).where(t.tags.c.id == tag_id))
