"""Durable job processing: claim a chunk of pending items, hand it to the job kind's handler,
commit its writes and the items' results together.

Each chunk runs in ONE transaction: the pending items are claimed, the handler registered for
the job's kind applies them (through the one write path), and the items are marked done or
failed. A crash at any moment rolls the chunk back whole, so on restart the same items are
still pending: nothing is lost and nothing is applied twice. Kinds are registered in
`corral.services` (mass update, bulk write, bulk read; revert later).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from corral.errors import CorralError, InvalidData, stored_error
from corral.metadata.registry import Registry
from corral.storage.database import Database, Tx
from corral.storage.errors import StorageConflict
from corral.storage.repositories.jobs import ACTIVE, Job, JobItem, JobRepository

log = logging.getLogger("corral.jobs")

CHUNK = 500


class JobCannotRun(Exception):
    """The job's module or creator is gone, or its kind is unknown: it fails whole."""


@dataclass(frozen=True)
class ItemDone:
    """An item done with a state and record of its own (a bulk write row `added` as a new
    record); None stands for `updated` with the item's own record."""

    state: str
    record_id: int


ItemOutcome = CorralError | ItemDone | None


class JobHandler(Protocol):
    def run_items(self, tx: Tx, job: Job, items: list[JobItem]) -> Sequence[ItemOutcome]:
        """Apply the items in the caller's transaction; one outcome per item.
        Raises `JobCannotRun` when the job as a whole cannot go on."""
        ...


class FinishingJobHandler(JobHandler, Protocol):
    def finished(self, tx: Tx, job: Job) -> None:
        """Called in the transaction that completes or fails the job (a callback to send)."""
        ...


class JobRunner:
    def __init__(self, db: Database, registry: Registry, clock: Callable[[], datetime],
                 handlers: Mapping[str, JobHandler], *, chunk: int = CHUNK) -> None:
        self.db = db
        self.registry = registry
        self.clock = clock
        self.handlers = dict(handlers)
        self.chunk = chunk
        self.jobs = JobRepository()

    def run_once(self, only: int | None = None) -> bool:
        """Process one chunk of some active job (or of job `only`); False when there was
        nothing to do."""
        # Look first in a read transaction: an idle worker must not take SQLite's write lock.
        with self.db.read() as tx:
            if not self.jobs.any_active(tx):
                return False
        try:
            with self.db.write() as tx:
                return self._run_once(tx, only)
        except StorageConflict:
            log.info("job chunk hit contention; it stays pending and is retried")
            return True

    def run_until_idle(self, max_chunks: int = 10**9) -> int:
        done = 0
        while done < max_chunks and self.run_once():
            done += 1
        return done

    def _run_once(self, tx: Tx, only: int | None = None) -> bool:
        self.registry.refresh(tx)
        if only is not None:
            mine = self.jobs.get(tx, only)
            candidates = [mine] if mine is not None and mine.status in ACTIVE else []
        else:
            candidates = self.jobs.active(tx, limit=20)
        for job in candidates:
            items = self.jobs.claim_pending(tx, job.id, self.chunk)
            if not items:
                if self._finish(tx, job):
                    return True
                continue  # another worker holds the remaining items
            if self._process(tx, job, items):
                self._finish(tx, job)
            return True
        return False

    def _finish(self, tx: Tx, job: Job) -> bool:
        """Complete the job once no item is pending; its handler hears of it in the same
        transaction."""
        if not self.jobs.finish_if_done(tx, job.id, self.clock()):
            return False
        self._finished(tx, job.id)
        return True

    def _finished(self, tx: Tx, job_id: int) -> None:
        job = self.jobs.get(tx, job_id)
        handler = self.handlers.get(job.kind) if job is not None else None
        finished = getattr(handler, "finished", None)
        if job is not None and finished is not None:
            finished(tx, job)

    def _process(self, tx: Tx, job: Job, items: list[JobItem]) -> bool:
        """Run the chunk; False when the job failed whole."""
        now = self.clock()
        self.jobs.start(tx, job.id, now)
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise JobCannotRun(job.kind)
            outcomes = handler.run_items(tx, job, items)
        except JobCannotRun:
            self.jobs.fail(tx, job.id, now, stored_error(InvalidData("job cannot run")))
            self._finished(tx, job.id)
            return False
        pairs = list(zip(items, outcomes, strict=True))
        done = [item.seq for item, out in pairs if out is None]
        written = [(item.seq, out.state, out.record_id) for item, out in pairs
                   if isinstance(out, ItemDone)]
        failed = [(item.seq, stored_error(out)) for item, out in pairs
                  if isinstance(out, CorralError) and not out.skips_item]
        skipped = [(item.seq, stored_error(out)) for item, out in pairs
                   if isinstance(out, CorralError) and out.skips_item]
        self.jobs.record_results(tx, job.id, done, failed, skipped)
        self.jobs.record_written(tx, job.id, written)
        return True


class Worker:
    """Background loop over steps (job chunks, webhook deliveries): `corral serve` runs one
    in-process, `corral worker` runs more. Each step returns whether it did any work."""

    def __init__(self, steps: list[Callable[[], bool]], poll_seconds: float = 0.5) -> None:
        self.steps = steps
        self.poll_seconds = poll_seconds
        self.paused = False  # emulator mode: PUT /__corral/worker {"paused": true}
        # Emulator mode: catch up with the state all server processes share (pause, clock).
        self.before_round: Callable[[], object] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_forever(self) -> None:
        while not self._stop.is_set():
            if self.before_round is not None:
                try:
                    self.before_round()
                except Exception:
                    log.exception("background step failed")
            if self.paused:
                self._stop.wait(self.poll_seconds)
                continue
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
