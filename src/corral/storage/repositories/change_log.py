"""change_log: one row per inserted, deleted or converted record and per changed field."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.bulk import execute_tuples
from corral.storage.database import Tx


class ChangeEntry(NamedTuple):
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
    source: str | None = None  # api | mass_update | revert | merge | conversion ...
    id: int | None = None  # set when read back; the log's order




_INSERT = sa.insert(t.change_log)
_COLUMNS = ChangeEntry._fields[:12]  # every field but `id`, which the database assigns


def _entry(r: Any) -> ChangeEntry:
    return ChangeEntry(record_id=r.record_id, module_id=r.module_id, operation=r.operation,
                       field=r.field, old_value=r.old_value, new_value=r.new_value,
                       user_id=r.user_id, at=r.at, request_id=r.request_id, job_id=r.job_id,
                       automation=r.automation, source=r.source, id=r.id)


class ChangeLogRepository:
    def append(self, tx: Tx, entries: Sequence[ChangeEntry]) -> None:
        execute_tuples(tx, _INSERT, _COLUMNS, entries)

    def of_record(self, tx: Tx, record_id: int) -> list[ChangeEntry]:
        rows = tx.execute(sa.select(t.change_log).where(t.change_log.c.record_id == record_id)
                          .order_by(t.change_log.c.id))
        return [_entry(r) for r in rows]

    def _of_writer(self, job_id: int | None, request_id: str | None) -> Any:
        c = t.change_log.c
        if job_id is not None:
            return c.job_id == job_id
        return sa.and_(c.request_id == request_id, c.job_id.is_(None))

    def of_writer(self, tx: Tx, *, job_id: int | None = None, request_id: str | None = None,
                  record_ids: Sequence[int] | None = None) -> list[ChangeEntry]:
        """The writes one job made, or one API call made itself (not the jobs it scheduled),
        in the order they were made; only those to `record_ids` when given."""
        q = sa.select(t.change_log).where(self._of_writer(job_id, request_id))
        if record_ids is not None:
            q = q.where(t.change_log.c.record_id.in_(list(record_ids)))
        return [_entry(r) for r in tx.execute(q.order_by(t.change_log.c.id))]

    def records_of_writer(self, tx: Tx, *, job_id: int | None = None,
                          request_id: str | None = None) -> list[tuple[int, int, int]]:
        """(record id, module id, id of the writer's last entry for it), latest first."""
        c = t.change_log.c
        last = sa.func.max(c.id)
        return [(int(r[0]), int(r[1]), int(r[2])) for r in tx.execute(
            sa.select(c.record_id, sa.func.min(c.module_id), last)
            .where(self._of_writer(job_id, request_id))
            .group_by(c.record_id).order_by(last.desc()))]

    def after(self, tx: Tx, record_ids: Sequence[int], after_id: int) -> list[ChangeEntry]:
        """Writes to the records made after log entry `after_id`, in order."""
        if not record_ids:
            return []
        return [_entry(r) for r in tx.execute(
            sa.select(t.change_log).where(t.change_log.c.record_id.in_(list(record_ids)),
                                          t.change_log.c.id > after_id)
            .order_by(t.change_log.c.id))]

    def writes_per_hour(self, tx: Tx, since: datetime, module_ids: Sequence[int],
                        ) -> list[tuple[str, str, int]]:
        """(hour "YYYY-MM-DD HH" in UTC, source, change-log rows) of these modules since
        `since`. The source is the door a write came through: job, workflow (automation),
        console or API."""
        c = t.change_log.c
        if tx.dialect.name == "postgresql":
            hour: Any = sa.func.to_char(sa.func.date_trunc("hour", c.at), "YYYY-MM-DD HH24")
        else:
            hour = sa.func.strftime("%Y-%m-%d %H", c.at)
        source = sa.case((c.job_id.is_not(None), "job"),
                         (c.automation.is_not(None), "workflow"),
                         (c.source == "console", "console"), else_="API")
        rows = tx.execute(sa.select(hour.label("hour"), source.label("source"),
                                    sa.func.count().label("n"))
                          .where(c.at >= since, c.module_id.in_(list(module_ids)))
                          .group_by(hour, source).order_by(hour))
        return [(str(r.hour), str(r.source), int(r.n)) for r in rows]
