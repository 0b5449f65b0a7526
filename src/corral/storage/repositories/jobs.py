"""jobs and job_items: durable background work whose items are fixed when it is scheduled.

A worker claims pending items (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers
share a job without overlapping; SQLite serialises writers), applies them and records their
results in the same transaction as the work itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx
from corral.storage.filters import Filter
from corral.storage.repositories.record_search import compile_where

ACTIVE = ("SCHEDULED", "RUNNING")


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    module_id: int
    status: str
    cvid: int | None
    payload: dict[str, Any]
    total: int
    created_by: int
    created_time: datetime
    started_time: datetime | None
    finished_time: datetime | None
    request_id: str | None


@dataclass(frozen=True)
class JobItem:
    seq: int
    record_id: int
    data: Any = None  # a bulk write item: its CSV row


@dataclass(frozen=True)
class ItemResult:
    """An item as a job's result lists it: its state, record, error and row."""

    seq: int
    record_id: int
    state: str
    error: dict[str, Any] | None
    data: Any


def _job(row: Any) -> Job:
    return Job(**{name: getattr(row, name) for name in Job.__dataclass_fields__})


class JobRepository:
    def create(self, tx: Tx, job: Job, record_ids: Sequence[int],
               rows: Sequence[Any] | None = None) -> None:
        """The job and one pending item per record id (or, with `rows`, per row: a bulk write
        item, whose record is known once it is written)."""
        tx.execute(sa.insert(t.jobs).values(**{n: getattr(job, n)
                                               for n in Job.__dataclass_fields__}))
        n = len(rows) if rows is not None else len(record_ids)
        for start in range(0, n, 5000):
            tx.execute(sa.insert(t.job_items), [
                {"job_id": job.id, "seq": i, "state": "pending", "error": None,
                 "record_id": record_ids[i] if rows is None else 0,
                 "data": rows[i] if rows is not None else None}
                for i in range(start, min(n, start + 5000))])

    def add_row_items(self, tx: Tx, job_id: int, first_seq: int,
                      rows: Sequence[Any]) -> None:
        """Pending bulk write items numbered from `first_seq`, one per row (a file streamed
        in batches: `corral import`)."""
        if rows:
            tx.execute(sa.insert(t.job_items), [
                {"job_id": job_id, "seq": first_seq + i, "state": "pending", "error": None,
                 "record_id": 0, "data": row} for i, row in enumerate(rows)])

    def add_selected_items(self, tx: Tx, job_id: int, where: Filter, *, offset: int,
                           limit: int) -> int:
        """One pending item per record `where` selects, `limit` of them after `offset` in id
        order, numbered from 0, written by the database itself (INSERT ... SELECT): a
        200,000-record Bulk Read or a whole-module export never holds its ids in Python.
        Returns how many items were written."""
        ids = (sa.select(t.records.c.id.label("rid")).where(compile_where(tx, where))
               .order_by(t.records.c.id).offset(offset).limit(limit).subquery())
        sel = sa.select(sa.literal(job_id, sa.BigInteger),
                        sa.func.row_number().over(order_by=ids.c.rid) - 1,
                        sa.literal("pending"), ids.c.rid)
        tx.execute(sa.insert(t.job_items).from_select(
            ["job_id", "seq", "state", "record_id"], sel))
        # Not the cursor's rowcount: psycopg reports -1 for INSERT ... SELECT through
        # SQLAlchemy; the last seq is one primary-key lookup.
        last = tx.execute(sa.select(sa.func.max(t.job_items.c.seq))
                          .where(t.job_items.c.job_id == job_id)).scalar_one()
        return 0 if last is None else int(last) + 1

    def drop_items_from(self, tx: Tx, job_id: int, seq: int) -> None:
        """Delete the job's items numbered `seq` and above."""
        tx.execute(sa.delete(t.job_items).where(t.job_items.c.job_id == job_id,
                                                t.job_items.c.seq >= seq))

    def get(self, tx: Tx, job_id: int, *, module_id: int | None = None) -> Job | None:
        q = sa.select(t.jobs).where(t.jobs.c.id == job_id)
        if module_id is not None:
            q = q.where(t.jobs.c.module_id == module_id)
        row = tx.execute(q).first()
        return _job(row) if row is not None else None

    def of_kind(self, tx: Tx, kind: str, module_id: int) -> list[Job]:
        """The module's jobs of one kind, oldest first."""
        return [_job(r) for r in tx.execute(
            sa.select(t.jobs).where(t.jobs.c.kind == kind, t.jobs.c.module_id == module_id)
            .order_by(t.jobs.c.created_time, t.jobs.c.id))]

    def active_for_view(self, tx: Tx, module_id: int, cvid: int) -> int | None:
        row = tx.execute(sa.select(t.jobs.c.id).where(
            t.jobs.c.cvid == cvid, t.jobs.c.module_id == module_id,
            t.jobs.c.status.in_(ACTIVE))).first()
        return int(row[0]) if row is not None else None

    def any_active(self, tx: Tx) -> bool:
        return tx.execute(sa.select(t.jobs.c.id).where(t.jobs.c.status.in_(ACTIVE))
                          .limit(1)).first() is not None

    def active(self, tx: Tx, limit: int) -> list[Job]:
        return [_job(r) for r in tx.execute(
            sa.select(t.jobs).where(t.jobs.c.status.in_(ACTIVE))
            .order_by(t.jobs.c.created_time, t.jobs.c.id).limit(limit))]

    def claim_pending(self, tx: Tx, job_id: int, limit: int) -> list[JobItem]:
        return [JobItem(r.seq, r.record_id, r.data) for r in tx.execute(
            sa.select(t.job_items.c.seq, t.job_items.c.record_id, t.job_items.c.data)
            .where(t.job_items.c.job_id == job_id, t.job_items.c.state == "pending")
            .order_by(t.job_items.c.seq).limit(limit).with_for_update(skip_locked=True))]

    def start(self, tx: Tx, job_id: int, now: datetime) -> None:
        tx.execute(sa.update(t.jobs).where(t.jobs.c.id == job_id,
                                           t.jobs.c.status == "SCHEDULED")
                   .values(status="RUNNING", started_time=now))

    def record_results(self, tx: Tx, job_id: int, done: Sequence[int],
                       failed: Sequence[tuple[int, dict[str, Any]]],
                       skipped: Sequence[tuple[int, dict[str, Any]]] = ()) -> None:
        """Items done (state `updated`), failed and skipped with their stored error."""
        if done:  # one statement for the successes, one executemany for the failures
            tx.execute(sa.update(t.job_items).where(
                t.job_items.c.job_id == job_id, t.job_items.c.seq.in_(list(done)))
                .values(state="updated"))
        if failed:
            tx.execute(sa.update(t.job_items).where(
                t.job_items.c.job_id == sa.bindparam("j"),
                t.job_items.c.seq == sa.bindparam("s"))
                .values(state="failed", error=sa.bindparam("err")),
                [{"j": job_id, "s": seq, "err": err} for seq, err in failed])
        if skipped:
            tx.execute(sa.update(t.job_items).where(
                t.job_items.c.job_id == sa.bindparam("j"),
                t.job_items.c.seq == sa.bindparam("s"))
                .values(state="skipped", error=sa.bindparam("err")),
                [{"j": job_id, "s": seq, "err": err} for seq, err in skipped])

    def items_in_state(self, tx: Tx, job_id: int, state: str,
                       limit: int = 1000) -> list[tuple[int, dict[str, Any] | None]]:
        """(record id, stored error) of the job's items in `state`, in item order."""
        return [(int(r.record_id), r.error) for r in tx.execute(
            sa.select(t.job_items.c.record_id, t.job_items.c.error)
            .where(t.job_items.c.job_id == job_id, t.job_items.c.state == state)
            .order_by(t.job_items.c.seq).limit(limit))]

    def record_written(self, tx: Tx, job_id: int,
                       written: Sequence[tuple[int, str, int]]) -> None:
        """Items done with their own state and record (`(seq, state, record_id)`: a bulk
        write row `added` or `updated` as that record)."""
        if written:
            tx.execute(sa.update(t.job_items).where(
                t.job_items.c.job_id == sa.bindparam("j"),
                t.job_items.c.seq == sa.bindparam("s"))
                .values(state=sa.bindparam("st"), record_id=sa.bindparam("r")),
                [{"j": job_id, "s": seq, "st": state, "r": rid} for seq, state, rid in written])

    def results(self, tx: Tx, job_id: int, after_seq: int, limit: int) -> list[ItemResult]:
        """Up to `limit` items after `after_seq`, in order: a result file is read page by
        page, never whole."""
        return [ItemResult(r.seq, r.record_id, r.state, r.error, r.data) for r in tx.execute(
            sa.select(t.job_items.c.seq, t.job_items.c.record_id, t.job_items.c.state,
                      t.job_items.c.error, t.job_items.c.data)
            .where(t.job_items.c.job_id == job_id, t.job_items.c.seq > after_seq)
            .order_by(t.job_items.c.seq).limit(limit))]

    def fail(self, tx: Tx, job_id: int, now: datetime, error: dict[str, Any]) -> None:
        """Every pending item failed with `error`, and the job FAILED."""
        tx.execute(sa.update(t.job_items).where(
            t.job_items.c.job_id == job_id, t.job_items.c.state == "pending").values(
            state="failed", error=error))
        tx.execute(sa.update(t.jobs).where(t.jobs.c.id == job_id).values(
            status="FAILED", finished_time=now))

    def finish_if_done(self, tx: Tx, job_id: int, now: datetime) -> bool:
        """COMPLETED once no item is pending; True when this call completed it."""
        pending = tx.execute(sa.select(sa.func.count()).select_from(t.job_items).where(
            t.job_items.c.job_id == job_id, t.job_items.c.state == "pending")).scalar_one()
        if pending:
            return False
        return bool(tx.execute(sa.update(t.jobs).where(
            t.jobs.c.id == job_id, t.jobs.c.status.in_(ACTIVE)).values(
            status="COMPLETED", finished_time=now)).rowcount)

    def item_counts(self, tx: Tx, job_id: int) -> dict[str, int]:
        return {str(state): int(n) for state, n in tx.execute(
            sa.select(t.job_items.c.state, sa.func.count())
            .where(t.job_items.c.job_id == job_id).group_by(t.job_items.c.state))}

    def item_counts_of(self, tx: Tx, job_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """Item counts by state of each of these jobs (one grouped query)."""
        out: dict[int, dict[str, int]] = {int(j): {} for j in job_ids}
        if not job_ids:
            return out
        c = t.job_items.c
        for job_id, state, n in tx.execute(
                sa.select(c.job_id, c.state, sa.func.count())
                .where(c.job_id.in_(list(job_ids))).group_by(c.job_id, c.state)):
            out[int(job_id)][str(state)] = int(n)
        return out

    def recent(self, tx: Tx, limit: int) -> list[Job]:
        """The newest jobs first (the console's job list)."""
        return [_job(r) for r in tx.execute(sa.select(t.jobs).order_by(
            t.jobs.c.created_time.desc(), t.jobs.c.id.desc()).limit(limit))]

    def finished_per_hour(self, tx: Tx, since: datetime, module_ids: Sequence[int],
                          ) -> list[tuple[str, str, int, int]]:
        """(hour "YYYY-MM-DD HH" in UTC, kind, jobs, their records) of the jobs of these
        modules that finished since `since` (the console dashboard's job throughput)."""
        c = t.jobs.c
        if tx.dialect.name == "postgresql":
            hour: Any = sa.func.to_char(sa.func.date_trunc("hour", c.finished_time),
                                        "YYYY-MM-DD HH24")
        else:
            hour = sa.func.strftime("%Y-%m-%d %H", c.finished_time)
        rows = tx.execute(sa.select(hour.label("hour"), c.kind, sa.func.count().label("n"),
                                    sa.func.sum(c.total).label("records"))
                          .where(c.finished_time >= since, c.module_id.in_(list(module_ids)))
                          .group_by(hour, c.kind).order_by(hour))
        return [(str(r.hour), str(r.kind), int(r.n), int(r.records or 0)) for r in rows]

    def failures(self, tx: Tx, job_id: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
        """(record id, error) of the job's failed items, in item order."""
        rows = tx.execute(sa.select(t.job_items.c.record_id, t.job_items.c.error)
                          .where(t.job_items.c.job_id == job_id,
                                 t.job_items.c.state == "failed")
                          .order_by(t.job_items.c.seq).limit(limit))
        return [(int(r.record_id), dict(r.error or {})) for r in rows]
