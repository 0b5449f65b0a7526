"""Durable job processing: claim a chunk of pending items, apply it, commit records and progress.

Each chunk runs in ONE transaction: the pending items are claimed (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, so several workers share a job without overlapping; SQLite serialises writers),
their records are written through the one write path, and the items are marked updated or
failed. A crash at any moment rolls the chunk back whole, so on restart the same items are
still pending: nothing is lost and nothing is applied twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from corral.auth.service import Principal
from corral.envelopes import error_body
from corral.records.mass_update import JOB_AUTOMATION_LIMIT, MassSpec, build_checked
from corral.records.service import Planned, RecordService, WriteContext
from corral.storage import tables as t
from corral.storage.errors import StorageConflict

log = logging.getLogger("corral.jobs")

CHUNK = 500


class JobRunner:
    def __init__(self, records: RecordService,
                 principal_of: Callable[[int], Principal | None], *, chunk: int = CHUNK,
                 ) -> None:
        self.records = records
        self.db = records.db
        self.registry = records.registry
        self.principal_of = principal_of
        self.chunk = chunk

    def run_once(self) -> bool:
        """Process one chunk of some active job; False when there was nothing to do."""
        # Look first in a read transaction: an idle worker must not take SQLite's write lock.
        with self.db.read() as conn:
            active = conn.execute(sa.select(t.jobs.c.id).where(
                t.jobs.c.status.in_(("SCHEDULED", "RUNNING"))).limit(1)).first()
        if active is None:
            return False
        try:
            with self.db.write() as conn:
                return self._run_once(conn)
        except StorageConflict:
            log.info("job chunk hit contention; it stays pending and is retried")
            return True

    def run_until_idle(self, max_chunks: int = 10**9) -> int:
        done = 0
        while done < max_chunks and self.run_once():
            done += 1
        return done

    def _run_once(self, conn: Connection) -> bool:
        self.registry.refresh(conn)
        jobs = conn.execute(sa.select(t.jobs).where(t.jobs.c.status.in_(("SCHEDULED",
                                                                           "RUNNING")))
                            .order_by(t.jobs.c.created_time, t.jobs.c.id).limit(20)).all()
        for job in jobs:
            items = conn.execute(
                sa.select(t.job_items.c.seq, t.job_items.c.record_id)
                .where(t.job_items.c.job_id == job.id, t.job_items.c.state == "pending")
                .order_by(t.job_items.c.seq).limit(self.chunk)
                .with_for_update(skip_locked=True)).all()
            if not items:
                if self._finish_if_done(conn, job.id):
                    return True
                continue  # another worker holds the remaining items
            self._process(conn, job, items)
            self._finish_if_done(conn, job.id)
            return True
        return False

    def _finish_if_done(self, conn: Connection, job_id: int) -> bool:
        pending = conn.execute(sa.select(sa.func.count()).select_from(t.job_items).where(
            t.job_items.c.job_id == job_id, t.job_items.c.state == "pending")).scalar_one()
        if pending:
            return False
        return bool(conn.execute(sa.update(t.jobs).where(
            t.jobs.c.id == job_id, t.jobs.c.status.in_(("SCHEDULED", "RUNNING"))).values(
            status="COMPLETED", finished_time=self.records.clock())).rowcount)

    def _process(self, conn: Connection, job: Any, items: list[Any]) -> None:
        now: datetime = self.records.clock()
        conn.execute(sa.update(t.jobs).where(t.jobs.c.id == job.id,
                                             t.jobs.c.status == "SCHEDULED")
                     .values(status="RUNNING", started_time=now))
        module = self.registry.by_id(job.module_id)
        principal = self.principal_of(job.created_by)
        if module is None or principal is None:  # module or user gone: nothing can be applied
            conn.execute(sa.update(t.job_items).where(
                t.job_items.c.job_id == job.id, t.job_items.c.state == "pending").values(
                state="failed", error={"code": "INVALID_DATA", "message": "job cannot run"}))
            conn.execute(sa.update(t.jobs).where(t.jobs.c.id == job.id).values(
                status="FAILED", finished_time=now))
            return
        payload = job.payload
        spec = MassSpec(values=payload["values"], append=frozenset(payload.get("append", [])))
        # Scheduled jobs run automation only when they cover fewer than 1,000 records (facts §5).
        trigger = None if job.total < JOB_AUTOMATION_LIMIT else ()
        ctx = WriteContext(principal, request_id=job.request_id, trigger=trigger, job_id=job.id)
        plans = [Planned(i, build_checked(spec), target=item.record_id)
                 for i, item in enumerate(items)]
        outcomes = self.records.write_batch(module, plans, ctx, conn=conn, ids=[])
        done = [item.seq for item, o in zip(items, outcomes, strict=True) if o.error is None]
        failed = [{"j": job.id, "s": item.seq, "err": error_body(o.error)}
                  for item, o in zip(items, outcomes, strict=True) if o.error is not None]
        if done:  # one statement for the successes, one per failure (rare)
            conn.execute(sa.update(t.job_items).where(
                t.job_items.c.job_id == job.id, t.job_items.c.seq.in_(done))
                .values(state="updated"))
        if failed:
            conn.execute(sa.update(t.job_items).where(
                t.job_items.c.job_id == sa.bindparam("j"),
                t.job_items.c.seq == sa.bindparam("s"))
                .values(state="failed", error=sa.bindparam("err")), failed)


class Worker:
    """Background loop over steps (job chunks, webhook deliveries): `corral serve` runs one
    in-process, `corral worker` runs more. Each step returns whether it did any work."""

    def __init__(self, steps: list[Callable[[], bool]], poll_seconds: float = 0.5) -> None:
        self.steps = steps
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_forever(self) -> None:
        while not self._stop.is_set():
            busy = False
            for step in self.steps:
                try:
                    busy = step() or busy
                except Exception:  # keep the loop alive; the step rolled back and is retried
                    log.exception("background step failed")
            if not busy:
                self._stop.wait(self.poll_seconds)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="corral-worker",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
