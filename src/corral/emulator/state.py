"""The emulator's state as every server process on the database shares it.

Each process keeps a copy of the one state row (clock, worker pause, limits, versions) and
refreshes it with one small read per request (`Emulator.sync`); faults are re-read only when
the row's version moved. Changes are write transactions of the repository, atomic across
processes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from corral.emulator.clock import real_now
from corral.storage.database import Database, Tx
from corral.storage.repositories.emulator import EmulatorRepository, EmulatorState

T = TypeVar("T")


class SharedState:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.repo = EmulatorRepository()

    def read(self) -> EmulatorState:
        with self.db.read() as tx:
            return self.repo.state(tx)

    def write(self, fn: Callable[[Tx], T]) -> T:
        with self.db.write() as tx:
            return fn(tx)

    def change(self, **values: Any) -> EmulatorState:
        return self.write(lambda tx: self.repo.change(tx, **values))

    # The clock's store (clock.ClockStore).
    def freeze(self, at: datetime | None) -> None:
        self.change(frozen_at=at)

    def advance(self, seconds: float) -> datetime:
        """Move the shared clock forward (from the present when it runs); the new instant."""
        def step(tx: Tx) -> datetime:
            current = self.repo.state(tx).frozen_at
            at = (current if current is not None else real_now()) + timedelta(seconds=seconds)
            self.repo.change(tx, frozen_at=at)
            return at

        return self.write(step)
