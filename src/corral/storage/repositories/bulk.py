"""bulk_files and bulk_result_parts: uploaded bulk write files and bulk read results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx


@dataclass(frozen=True)
class BulkFile:
    id: int
    file_name: str | None
    content: bytes
    created_by: int
    created_time: datetime


@dataclass(frozen=True)
class ResultPart:
    seq: int
    content: str


class BulkRepository:
    def add_file(self, tx: Tx, f: BulkFile) -> None:
        tx.execute(sa.insert(t.bulk_files).values(
            id=f.id, file_name=f.file_name, content=f.content, created_by=f.created_by,
            created_time=f.created_time))

    def file(self, tx: Tx, file_id: int) -> BulkFile | None:
        row = tx.execute(sa.select(t.bulk_files).where(t.bulk_files.c.id == file_id)).first()
        if row is None:
            return None
        return BulkFile(id=row.id, file_name=row.file_name, content=bytes(row.content),
                        created_by=row.created_by, created_time=row.created_time)

    def add_part(self, tx: Tx, job_id: int, seq: int, content: str) -> None:
        tx.execute(sa.insert(t.bulk_result_parts).values(job_id=job_id, seq=seq,
                                                         content=content))

    def parts(self, tx: Tx, job_id: int, after_seq: int, limit: int) -> list[ResultPart]:
        """Up to `limit` parts after `after_seq`, in order."""
        return [ResultPart(r.seq, r.content) for r in tx.execute(
            sa.select(t.bulk_result_parts.c.seq, t.bulk_result_parts.c.content)
            .where(t.bulk_result_parts.c.job_id == job_id,
                   t.bulk_result_parts.c.seq > after_seq)
            .order_by(t.bulk_result_parts.c.seq).limit(limit))]
