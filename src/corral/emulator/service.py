"""The emulator's state and control operations: reset, snapshots, the clock.

Served by api/emulator.py only when `corral serve --emulator` (or CORRAL_EMULATOR=1) runs; the
CLI's `corral reset` / `corral snapshot ...` use the same object on a database URL.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from corral.config import Settings
from corral.emulator.clock import EmulatorClock
from corral.emulator.faults import Faults
from corral.emulator.fixtures import FixtureLoader, Loaded
from corral.emulator.fixtures import parse as parse_fixtures
from corral.emulator.journal import Journal
from corral.emulator.limits import Limits
from corral.emulator.state import SharedState
from corral.errors import InvalidData, NotFound
from corral.jobs.runner import Worker
from corral.services import Corral
from corral.storage.database import Tx
from corral.storage.repositories.emulator import EmulatorState
from corral.storage.snapshots import SnapshotInfo, SnapshotNotFound, SnapshotStore, valid_name

# The state `POST /__corral/reset` returns to: taken when the emulator first starts on a
# database (right after the first-start seed for a new one). Hidden from the snapshot list.
BASELINE = "__baseline__"
UNDO = "__fixtures_undo__"  # taken before loading fixtures, restored if one fails
HIDDEN = frozenset({BASELINE, UNDO})
# What POST /__corral/jobs/run reports for each worker step.
STEP_NAMES = {"JobRunner.run_once": "job_chunks",
              "WebhookDeliverer.deliver_once": "webhook_deliveries"}
MAX_RUN = 100_000  # steps of one kind per call: a bound, never reached by a test


@dataclass(frozen=True)
class EmulatorOptions:
    journal_body_limit: int = 10_000  # characters of a request/response body kept
    journal_size: int = 10_000  # calls kept (oldest dropped first)
    seed: int | None = None


class Emulator:
    def __init__(self, corral: Corral, clock: EmulatorClock | None = None,
                 options: EmulatorOptions | None = None) -> None:
        self.corral = corral
        if clock is None:
            clock = corral.clock if isinstance(corral.clock, EmulatorClock) else EmulatorClock()
        self.clock = clock
        self.options = options or EmulatorOptions()
        self.snapshots = SnapshotStore(corral.db)
        self.shared = SharedState(corral.db)
        self.clock.bind(self.shared)
        self.random = random.Random(self.options.seed)
        self.journal = Journal(self.options.journal_size, self.options.journal_body_limit,
                               self.shared)
        self.faults = Faults(self.random, self.shared)
        self.limits = Limits(self.clock, self.shared)
        corral.webhooks.on_delivery = self._journal_delivery
        if self.options.seed is not None:
            # Tokens from a generator of their own, so fault probabilities drawn in between
            # never shift them. Record ids come from the database's counter, which restores
            # with every reset, so they already follow the order of calls. Each process
            # started on the database has a generator of its own (the first one's is the
            # seed's alone), so two server processes never hand out the same token.
            slot = self.shared.write(self.shared.repo.claim_slot)
            tokens = random.Random(f"tokens:{self.options.seed}"
                                   + (f":{slot}" if slot else ""))
            corral.auth.random_hex = lambda n: tokens.randbytes(n).hex()
        self.first_token: str | None = None  # the first-start admin token, when it seeded
        self.worker: Worker | None = None
        self.worker_paused = False
        self.fixtures_loaded: Loaded | None = None
        self._generation: int | None = None
        self.sync()

    # ------------------------------------------------------------------------- shared state
    def sync(self) -> EmulatorState:
        """Catch up with the state every server process shares (one small read): the clock,
        limits, worker pause, faults (re-read when changed) and, after a reset or restore by
        any process, this process's caches of database content."""
        state = self.shared.read()
        if self._generation is not None and state.generation != self._generation:
            self._forget_caches()
        self._generation = state.generation
        self.clock.load(state.frozen_at)
        self.limits.load(state)
        self.faults.load(state.version)
        self.worker_paused = state.worker_paused
        if self.worker is not None:
            self.worker.paused = state.worker_paused
        return state

    def finish_call(self, entry: dict[str, Any], *, charge: int, release: bool | None,
                    heavy: bool) -> None:
        """A call's end in one write transaction: journalled, charged (when it was not on
        admission) and out of flight (`release`: None when never admitted, else whether the
        database counted it)."""
        def finish(tx: Tx) -> None:
            self.journal.append(tx, entry, charge)
            if release:
                self.shared.repo.release(tx, heavy)

        self.shared.write(finish)
        if release is False:
            self.limits.release_local()

    def _journal_delivery(self, url: str, body: bytes, status: int | None,
                          seconds: float) -> None:
        self.journal.add(time=self.clock(), direction="out", method="POST", path=url, query="",
                         status=status, code=None, credits=0, duration_ms=seconds * 1000,
                         request_body=body, response_body=b"")

    @classmethod
    def open(cls, settings: Settings, options: EmulatorOptions | None = None,
             fixtures: bytes | None = None) -> Emulator:
        """A Corral whose every service reads the emulator's clock, seeded, with a baseline.
        `fixtures` are loaded when the baseline is taken (the first emulator start on the
        database), so they are part of what reset returns to."""
        clock = EmulatorClock()
        corral = Corral.open(settings, clock=clock)
        # A server start begins with a clean emulator state (real-time clock, no faults, no
        # limits, an empty journal, the worker running), as when the state lived in memory.
        shared = SharedState(corral.db)
        shared.write(shared.repo.clear_runtime)
        emu = cls(corral, clock, options)
        emu.first_token = corral.seed()
        if fixtures is not None and not emu.has_baseline():
            emu.fixtures_loaded = emu.load_fixtures(fixtures)
        emu.ensure_baseline()
        return emu

    @classmethod
    def join(cls, settings: Settings, options: EmulatorOptions | None = None) -> Emulator:
        """One more server process of an emulator that `open` started on the database (the
        process factory of `corral serve --emulator --workers N`): it shares the running
        state as it is, seeds nothing and takes no baseline."""
        clock = EmulatorClock()
        return cls(Corral.open(settings, clock=clock, prepare=False), clock, options)

    # ------------------------------------------------------------------------- fixtures
    def load_fixtures(self, text: bytes | str) -> Loaded:
        """Load a YAML/JSON fixture document through the services, all or nothing: on any
        error the database goes back to how it was (tokens issued meanwhile kept)."""
        doc = parse_fixtures(text)
        self.snapshots.save(UNDO, self.clock())
        try:
            return FixtureLoader(self.corral).load(doc)
        except Exception:
            self.restore(UNDO, hidden_ok=True, keep_credentials=True)
            raise
        finally:
            self.snapshots.delete(UNDO)

    # ------------------------------------------------------------------------- async work
    def attach_worker(self, worker: Worker) -> None:
        """The process's background worker (app lifespan): it catches up with the shared state
        before each round, so PUT /__corral/worker (and the clock) reach it from any process."""
        self.worker = worker
        worker.paused = self.worker_paused
        worker.before_round = self.sync

    def pause_worker(self, paused: bool) -> None:
        """Pause (or resume) the background worker of every server process."""
        self.shared.change(worker_paused=paused)
        self.sync()

    def run_jobs(self) -> dict[str, int]:
        """Run every pending job chunk, webhook and notification delivery now (whatever the
        worker does, paused or not); how many of each ran. Deliveries whose back-off has not
        expired on the emulator's clock are not due yet (advance the clock first)."""
        ran: dict[str, int] = {}
        for step in self.corral.worker().steps:
            name = STEP_NAMES.get(getattr(step, "__qualname__", ""))
            if name is None:  # upkeep (search indexes, statistics), not pending work
                continue
            count = 0
            while count < MAX_RUN and step():
                count += 1
            ran[name] = ran.get(name, 0) + count
        return ran

    # ------------------------------------------------------------------------- reset
    def ensure_baseline(self) -> None:
        if self.snapshots.get(BASELINE) is None:
            self.snapshots.save(BASELINE, self.clock())
        # Ids continue from the database's counter, as after a reset: the same calls after
        # the start and after a reset get the same ids.
        self.corral.db.forget_ids()

    def has_baseline(self) -> bool:
        return self.snapshots.get(BASELINE) is not None

    def reset(self, snapshot: str | None = None) -> None:
        """Back to the baseline (the database as the emulator first started on it), or to the
        named snapshot; tokens issued since stay valid."""
        self.restore(snapshot if snapshot is not None else BASELINE, hidden_ok=True,
                     keep_credentials=True)

    # ------------------------------------------------------------------------- snapshots
    def save_snapshot(self, name: object) -> SnapshotInfo:
        """Save (or replace) the snapshot `name`."""
        if not valid_name(name) or str(name).startswith("__"):
            raise InvalidData("invalid snapshot name", {"api_name": "name"})
        assert isinstance(name, str)
        return self.snapshots.save(name, self.clock())

    def list_snapshots(self) -> list[SnapshotInfo]:
        return [s for s in self.snapshots.list() if not s.name.startswith("__")]

    def restore(self, name: str, *, hidden_ok: bool = False,
                keep_credentials: bool = False) -> None:
        """Back to snapshot `name` exactly; `keep_credentials` (reset) keeps the OAuth clients
        and tokens issued since, so the caller's token stays valid."""
        hidden = hidden_ok and name in HIDDEN
        if not hidden and (not valid_name(name) or name.startswith("__")):
            raise NotFound("snapshot not found", {"name": name})
        try:
            self.snapshots.restore(name, keep_credentials=keep_credentials)
        except SnapshotNotFound:
            raise NotFound("snapshot not found", {"name": name}) from None
        # Every other process forgets its caches on its next request (sync).
        self.shared.write(self.shared.repo.bump_generation)
        self._forget_caches()
        self._generation = None  # this process forgot already: sync only takes the new number
        self.sync()

    def delete_snapshot(self, name: str) -> None:
        if not valid_name(name) or name.startswith("__") or not self.snapshots.delete(name):
            raise NotFound("snapshot not found", {"name": name})

    def _forget_caches(self) -> None:
        """Caches of this process that hold database state (metadata, the page-token key, the
        block of ids reserved from the restored counter)."""
        self.corral.db.forget_ids()
        self.corral.registry.invalidate()
        self.corral.registry.refresh()
        self.corral.query.forget_secret()
