"""Durable job processing: claim a chunk of pending items, hand it to the job kind's handler,
commit its writes and the items' results together.

Each chunk runs in ONE transaction: the pending items are claimed, the handler registered for
the job's kind applies them (through the one write path), and the items are marked done or
failed. A crash at any moment rolls the chunk back whole, so on restart the same items are
still pending: nothing is lost and nothing is applied twice. Kinds are registered in
`corral.services` (mass update today; bulk write, bulk read and revert later).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from corral.errors import CorralError, InvalidData, stored_error
from corral.metadata.registry import Registry
from corral.storage.database import Database, Tx
from corral.storage.errors import StorageConflict
from corral.storage.repositories.jobs import Job, JobItem, JobRepository

log = logging.getLogger("corral.jobs")

CHUNK = 500


class JobCannotRun(Exception):
    """The job's module or creator is gone, or its kind is unknown: it fails whole."""


class JobHandler(Protocol):
    def run_items(self, tx: Tx, job: Job, items: list[JobItem]) -> list[CorralError | None]:
        """Apply the items in the caller's transaction; one error (or None) per item.
        Raises `JobCannotRun` when the job as a whole cannot go on."""
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

    def run_once(self) -> bool:
        """Process one chunk of some active job; False when there was nothing to do."""
        # Look first in a read transaction: an idle worker must not take SQLite's write lock.
        with self.db.read() as tx:
            if not self.jobs.any_active(tx):
                return False
        try:
            with self.db.write() as tx:
                return self._run_once(tx)
        except StorageConflict:
            log.info("job chunk hit contention; it stays pending and is retried")
            return True

    def run_until_idle(self, max_chunks: int = 10**9) -> int:
        done = 0
        while done < max_chunks and self.run_once():
            done += 1
        return done

    def _run_once(self, tx: Tx) -> bool:
        self.registry.refresh(tx)
        for job in self.jobs.active(tx, limit=20):
            items = self.jobs.claim_pending(tx, job.id, self.chunk)
            if not items:
                if self.jobs.finish_if_done(tx, job.id, self.clock()):
                    return True
                continue  # another worker holds the remaining items
            self._process(tx, job, items)
            self.jobs.finish_if_done(tx, job.id, self.clock())
            return True
        return False

    def _process(self, tx: Tx, job: Job, items: list[JobItem]) -> None:
        now = self.clock()
        self.jobs.start(tx, job.id, now)
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise JobCannotRun(job.kind)
            errors = handler.run_items(tx, job, items)
        except JobCannotRun:
            self.jobs.fail(tx, job.id, now, stored_error(InvalidData("job cannot run")))
            return
        done = [item.seq for item, err in zip(items, errors, strict=True) if err is None]
        failed = [(item.seq, stored_error(err))
                  for item, err in zip(items, errors, strict=True) if err is not None]
        self.jobs.record_results(tx, job.id, done, failed)


class Worker:
    """Background loop over steps (job chunks, webhook deliveries): `corral serve` runs one
    in-process, `corral worker` runs more. Each step returns whether it did any work."""

    def __init__(self, steps: list[Callable[[], bool]], poll_seconds: float = 0.5) -> None:
        self.steps = steps
        self.poll_seconds = poll_seconds
        self.paused = False  # emulator mode: PUT /__corral/worker {"paused": true}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_forever(self) -> None:
        while not self._stop.is_set():
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
