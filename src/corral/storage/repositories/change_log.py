"""change_log: one row per inserted, deleted or converted record and per changed field."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx


@dataclass(frozen=True)
class ChangeEntry:
    """`old_value`/`new_value` hold the field's full values; for an insert `new_value` is the
    whole record, for a delete `old_value` is (the before-image a revert restores)."""

    record_id: int
    module_id: int
    operation: str  # insert | update | delete | convert
    field: str | None
    old_value: Any
    new_value: Any
    user_id: int
    at: datetime
    request_id: str | None
    job_id: int | None
    automation: str | None


_COLUMNS = tuple(f.name for f in fields(ChangeEntry))


class ChangeLogRepository:
    def append(self, tx: Tx, entries: Sequence[ChangeEntry]) -> None:
        if entries:  # shallow: asdict() would deep-copy every logged value
            tx.execute(sa.insert(t.change_log),
                       [{n: getattr(e, n) for n in _COLUMNS} for e in entries])

    def of_record(self, tx: Tx, record_id: int) -> list[ChangeEntry]:
        rows = tx.execute(sa.select(t.change_log).where(t.change_log.c.record_id == record_id)
                          .order_by(t.change_log.c.id))
        return [ChangeEntry(record_id=r.record_id, module_id=r.module_id,
                            operation=r.operation, field=r.field, old_value=r.old_value,
                            new_value=r.new_value, user_id=r.user_id, at=r.at,
                            request_id=r.request_id, job_id=r.job_id,
                            automation=r.automation) for r in rows]
