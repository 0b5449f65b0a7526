"""The emulator's controllable clock: real time, or frozen at an instant and moved by hand.

One instance is handed to `Corral.open(clock=...)`, so everything time-based (record times,
If-Modified-Since, token and page-token expiry, jobs, webhook back-off, credit windows) reads
the same clock. Times are naive UTC, as stored in the database.

Bound to the emulator's shared state (`bind`), a change is written to the database, and every
server process picks it up on its next request (`Emulator.sync` calls `load`); unbound, the
clock is this process's alone.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


def real_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class ClockStore(Protocol):
    def freeze(self, at: datetime | None) -> None: ...

    def advance(self, seconds: float) -> datetime: ...


class EmulatorClock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen_at: datetime | None = None
        self._store: ClockStore | None = None

    def __call__(self) -> datetime:
        frozen = self._frozen_at
        return frozen if frozen is not None else real_now()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def bind(self, store: ClockStore) -> None:
        self._store = store

    def load(self, frozen_at: datetime | None) -> None:
        """What the shared state says (another process may have moved the clock)."""
        self._frozen_at = frozen_at

    def freeze(self, at: datetime | None = None) -> None:
        """Stop the clock at `at` (naive or aware; stored as naive UTC), or at the present."""
        if at is not None and at.tzinfo is not None:
            at = at.astimezone(UTC).replace(tzinfo=None)
        with self._lock:
            at = at if at is not None else real_now()
            if self._store is not None:
                self._store.freeze(at)
            self._frozen_at = at

    def advance(self, seconds: float) -> None:
        """Move the clock forward (a running clock is frozen first, at the present)."""
        with self._lock:
            if self._store is not None:
                self._frozen_at = self._store.advance(seconds)
                return
            base = self._frozen_at if self._frozen_at is not None else real_now()
            self._frozen_at = base + timedelta(seconds=seconds)

    def release(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.freeze(None)
            self._frozen_at = None
