"""The emulator's controllable clock: real time, or frozen at an instant and moved by hand.

One instance is handed to `Corral.open(clock=...)`, so everything time-based (record times,
If-Modified-Since, token and page-token expiry, jobs, webhook back-off, credit windows) reads
the same clock. Times are naive UTC, as stored in the database.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


def real_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class EmulatorClock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen_at: datetime | None = None

    def __call__(self) -> datetime:
        frozen = self._frozen_at
        return frozen if frozen is not None else real_now()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def freeze(self, at: datetime | None = None) -> None:
        """Stop the clock at `at` (naive or aware; stored as naive UTC), or at the present."""
        if at is not None and at.tzinfo is not None:
            at = at.astimezone(UTC).replace(tzinfo=None)
        with self._lock:
            self._frozen_at = at if at is not None else real_now()

    def advance(self, seconds: float) -> None:
        """Move the clock forward (a running clock is frozen first, at the present)."""
        with self._lock:
            base = self._frozen_at if self._frozen_at is not None else real_now()
            self._frozen_at = base + timedelta(seconds=seconds)

    def release(self) -> None:
        with self._lock:
            self._frozen_at = None
