"""Attachments of records: rows (file or link) and the files' bytes, in one transaction."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx


@dataclass(frozen=True)
class StoredAttachment:
    id: int
    module_id: int
    record_id: int
    file_name: str | None
    size: int
    content_type: str | None
    sha256: str | None
    link_url: str | None
    owner_id: int
    created_by: int
    created_time: datetime
    modified_by: int
    modified_time: datetime


def _from_row(row: Any) -> StoredAttachment:
    return StoredAttachment(**{c.name: getattr(row, c.name) for c in t.attachments.columns})


class AttachmentRepository:
    def of_record(self, tx: Tx, record_id: int, *, offset: int = 0,
                  limit: int | None = None) -> list[StoredAttachment]:
        """The record's attachments, newest first."""
        q = sa.select(t.attachments).where(t.attachments.c.record_id == record_id) \
            .order_by(t.attachments.c.id.desc()).offset(offset)
        if limit is not None:
            q = q.limit(limit)
        return [_from_row(r) for r in tx.execute(q)]

    def by_ids(self, tx: Tx, record_id: int, ids: Collection[int]) -> dict[int, StoredAttachment]:
        if not ids:
            return {}
        return {int(r.id): _from_row(r) for r in tx.execute(sa.select(t.attachments).where(
            t.attachments.c.record_id == record_id, t.attachments.c.id.in_(list(ids))))}

    def content(self, tx: Tx, attachment_id: int) -> bytes | None:
        row = tx.execute(sa.select(t.attachment_contents.c.content).where(
            t.attachment_contents.c.attachment_id == attachment_id)).first()
        return bytes(row[0]) if row is not None else None

    def insert(self, tx: Tx, att: StoredAttachment, content: bytes | None) -> None:
        tx.execute(sa.insert(t.attachments), [asdict(att)])
        if content is not None:
            tx.execute(sa.insert(t.attachment_contents),
                       [{"attachment_id": att.id, "content": content}])

    def delete(self, tx: Tx, ids: Collection[int]) -> None:
        if ids:
            tx.execute(sa.delete(t.attachment_contents).where(
                t.attachment_contents.c.attachment_id.in_(list(ids))))
            tx.execute(sa.delete(t.attachments).where(t.attachments.c.id.in_(list(ids))))

    def move(self, tx: Tx, from_record: int, to_module: int, to_record: int) -> list[int]:
        """Give every attachment of one record to another (lead conversion); their ids."""
        ids = [a.id for a in self.of_record(tx, from_record)]
        if ids:
            tx.execute(sa.update(t.attachments).where(t.attachments.c.id.in_(ids))
                       .values(module_id=to_module, record_id=to_record))
        return ids

    def owners(self, tx: Tx, ids: Collection[int]) -> dict[int, tuple[int, int]]:
        """(module id, record id) each existing attachment of `ids` belongs to now."""
        if not ids:
            return {}
        return {int(r.id): (int(r.module_id), int(r.record_id)) for r in tx.execute(
            sa.select(t.attachments.c.id, t.attachments.c.module_id, t.attachments.c.record_id)
            .where(t.attachments.c.id.in_(list(ids))))}

    def move_ids(self, tx: Tx, ids: Collection[int], to_module: int, to_record: int) -> None:
        """Give the attachments `ids` to another record (a merge's revert gives them back)."""
        if ids:
            tx.execute(sa.update(t.attachments).where(t.attachments.c.id.in_(list(ids)))
                       .values(module_id=to_module, record_id=to_record))
