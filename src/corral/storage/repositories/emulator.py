"""The emulator's shared state: settings and counters (one row), faults, credits, the journal.

Every server process on the database reads and changes these, so each change is one write
transaction whose statements are atomic on their own (`UPDATE ... RETURNING`), and what a
process caches is keyed by the row's `version` and `generation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx

S = t.emulator_state
F = t.emulator_faults
C = t.emulator_credits
J = t.emulator_journal
ROW = S.c.id == 1
INITIAL: dict[str, Any] = {"id": 1, "generation": 0, "version": 0, "frozen_at": None,
                           "worker_paused": False, "edition": None, "users": 1, "spent": 0,
                           "in_flight": 0, "heavy": 0, "journal_next": 0, "fault_next": 0,
                           "slots": 0}


@dataclass(frozen=True)
class EmulatorState:
    generation: int
    version: int
    frozen_at: datetime | None
    worker_paused: bool
    edition: str | None
    users: int
    spent: int
    in_flight: int
    heavy: int


@dataclass(frozen=True)
class StoredFault:
    id: int
    method: str | None
    path: str
    status: int | None
    code: str | None
    message: str | None
    latency_ms: int
    probability: float
    times: int | None
    hits: int


@dataclass(frozen=True)
class JournalEntry:
    id: int
    time: datetime
    direction: str
    method: str
    path: str
    query: str
    status: int | None
    code: str | None
    credits: int
    duration_ms: float
    request_body: str | None
    response_body: str | None


@dataclass(frozen=True)
class Admission:
    """What `admit` decided: None when admitted, else 'concurrency' or 'credits'."""

    refused: str | None


_STATE_COLUMNS = (S.c.generation, S.c.version, S.c.frozen_at, S.c.worker_paused, S.c.edition,
                  S.c.users, S.c.spent, S.c.in_flight, S.c.heavy)
# Statements of every call, built once (building a statement costs more than running it).
_READ_STATE = sa.select(*_STATE_COLUMNS).where(ROW)
_NEXT_ENTRY = (sa.update(S).where(ROW)
               .values(journal_next=S.c.journal_next + 1,
                       spent=S.c.spent + sa.bindparam("charge", type_=sa.BigInteger))
               .returning(S.c.journal_next))
_INSERT_ENTRY = sa.insert(J)
_TRIM = sa.delete(J).where(J.c.id <= sa.bindparam("upto", type_=sa.BigInteger))
_INSERT_CREDITS = sa.insert(C)
_RELEASE = sa.update(S).where(ROW).values(
    in_flight=sa.case((S.c.in_flight > 0, S.c.in_flight - 1), else_=0),
    heavy=sa.case((S.c.heavy > sa.bindparam("h", type_=sa.Integer),
                   S.c.heavy - sa.bindparam("h", type_=sa.Integer)), else_=0))


def _state(row: Any) -> EmulatorState:
    return EmulatorState(int(row.generation), int(row.version), row.frozen_at,
                         bool(row.worker_paused), row.edition, int(row.users), int(row.spent),
                         int(row.in_flight), int(row.heavy))


def _fault(row: Any) -> StoredFault:
    return StoredFault(int(row.id), row.method, row.path, row.status, row.code, row.message,
                       int(row.latency_ms), float(row.probability), row.times, int(row.hits))


class EmulatorRepository:
    # ------------------------------------------------------------------------- the state row
    def state(self, tx: Tx) -> EmulatorState:
        row = tx.execute(_READ_STATE).first()
        if row is None:  # a database whose row was removed by hand: start over
            tx.execute(sa.insert(S).values(**INITIAL))
            row = tx.execute(_READ_STATE).one()
        return _state(row)

    def change(self, tx: Tx, **values: Any) -> EmulatorState:
        """Set columns of the state row and bump its version (caches of every process
        reload)."""
        self.state(tx)  # the row exists
        tx.execute(sa.update(S).where(ROW).values(version=S.c.version + 1, **values))
        return self.state(tx)

    def bump_generation(self, tx: Tx) -> None:
        """The database content was replaced (reset, snapshot restore)."""
        self.state(tx)
        tx.execute(sa.update(S).where(ROW).values(generation=S.c.generation + 1,
                                                   version=S.c.version + 1))

    def clear_runtime(self, tx: Tx) -> None:
        """Back to a clean start: real-time clock, worker running, no limits, nothing spent
        or in flight, no faults, an empty journal, no seeded process yet. Ids given so far and
        the generation stay (ids are never given twice; caches still key on the generation)."""
        self.state(tx)
        tx.execute(sa.update(S).where(ROW).values(
            version=S.c.version + 1, frozen_at=None, worker_paused=False, edition=None,
            users=1, spent=0, in_flight=0, heavy=0, slots=0))
        for table in (F, C, J):
            tx.execute(sa.delete(table))

    def claim_slot(self, tx: Tx) -> int:
        """A number per seeded process started on the database: 0, 1, 2, ..."""
        self.state(tx)
        row = tx.execute(sa.update(S).where(ROW).values(slots=S.c.slots + 1)
                         .returning(S.c.slots)).one()
        return int(row[0]) - 1

    # ------------------------------------------------------------------------- faults
    def add_fault(self, tx: Tx, values: dict[str, Any]) -> int:
        self.state(tx)
        fault_id = int(tx.execute(sa.update(S).where(ROW)
                                  .values(fault_next=S.c.fault_next + 1,
                                          version=S.c.version + 1)
                                  .returning(S.c.fault_next)).one()[0])
        tx.execute(sa.insert(F).values(id=fault_id, hits=0, **values))
        return fault_id

    def faults(self, tx: Tx) -> list[StoredFault]:
        return [_fault(r) for r in tx.execute(sa.select(F).order_by(F.c.id))]

    def delete_faults(self, tx: Tx, fault_id: int | None = None) -> int:
        """Delete one fault (or all); how many went."""
        query = sa.delete(F) if fault_id is None else sa.delete(F).where(F.c.id == fault_id)
        gone = tx.execute(query).rowcount or 0
        if gone:
            tx.execute(sa.update(S).where(ROW).values(version=S.c.version + 1))
        return gone

    def hit_fault(self, tx: Tx, fault_id: int) -> StoredFault | None:
        """Count one hit of the fault, atomically across processes: None when another process
        used its last hit (or it was deleted) first. A fault whose hits ran out is deleted."""
        row = tx.execute(sa.update(F).where(F.c.id == fault_id)
                         .where(sa.or_(F.c.times.is_(None), F.c.times > 0))
                         .values(times=sa.case((F.c.times.is_(None), None),
                                               else_=F.c.times - 1),
                                 hits=F.c.hits + 1)
                         .returning(*F.c)).first()
        if row is None:
            return None
        fault = _fault(row)
        if fault.times == 0:
            tx.execute(sa.delete(F).where(F.c.id == fault_id))
            tx.execute(sa.update(S).where(ROW).values(version=S.c.version + 1))
        return fault

    # ------------------------------------------------------------------------- credits
    def expired(self, tx: Tx, horizon: datetime) -> int:
        """Credits spent at or before `horizon` (out of the window, not yet dropped)."""
        return int(tx.execute(sa.select(sa.func.coalesce(sa.func.sum(C.c.credits), 0))
                              .where(C.c.spent_at <= horizon)).scalar_one())

    def _drop_expired(self, tx: Tx, horizon: datetime) -> None:
        gone = self.expired(tx, horizon)
        if gone:
            tx.execute(sa.delete(C).where(C.c.spent_at <= horizon))
            tx.execute(sa.update(S).where(ROW).values(spent=S.c.spent - gone))

    def set_spent(self, tx: Tx, at: datetime, credits: int) -> None:
        """Forget every credit spent; with `credits`, that many spent at `at`."""
        tx.execute(sa.delete(C))
        tx.execute(sa.update(S).where(ROW).values(spent=credits))
        if credits:
            tx.execute(sa.insert(C).values(spent_at=at, credits=credits))

    def charge(self, tx: Tx, at: datetime, credits: int) -> None:
        if credits:
            tx.execute(_INSERT_CREDITS, {"spent_at": at, "credits": credits})
            tx.execute(sa.update(S).where(ROW).values(spent=S.c.spent + credits))

    def admit(self, tx: Tx, *, at: datetime, horizon: datetime, credits: int, heavy: bool,
              allowance: int | None, concurrency: int | None, sub_concurrency: int
              ) -> Admission:
        """Charge a call and count it in flight, unless a limit refuses it (then nothing)."""
        # The write first: it takes the row's lock (PostgreSQL), so checks and charges of
        # concurrent calls in other processes queue behind this one.
        tx.execute(sa.update(S).where(ROW).values(in_flight=S.c.in_flight))
        self._drop_expired(tx, horizon)
        state = self.state(tx)
        if concurrency is not None and credits and state.in_flight >= concurrency:
            return Admission("concurrency")
        if concurrency is not None and heavy and state.heavy >= sub_concurrency:
            return Admission("concurrency")
        if allowance is not None and credits and state.spent + credits > allowance:
            return Admission("credits")
        self.charge(tx, at, credits)
        tx.execute(sa.update(S).where(ROW).values(in_flight=S.c.in_flight + 1,
                                                   heavy=S.c.heavy + int(heavy)))
        return Admission(None)

    def release(self, tx: Tx, heavy: bool) -> None:
        tx.execute(_RELEASE, {"h": int(heavy)})

    # ------------------------------------------------------------------------- journal
    def append(self, tx: Tx, entry: dict[str, Any], keep: int, charge: int = 0) -> int:
        """Journal one call (and charge its `charge` credits, spent at its time); the `keep`
        newest entries stay, older ones are dropped here."""
        row = tx.execute(_NEXT_ENTRY, {"charge": charge}).first()
        if row is None:
            self.state(tx)
            row = tx.execute(_NEXT_ENTRY, {"charge": charge}).one()
        entry_id = int(row[0])
        tx.execute(_INSERT_ENTRY, {"id": entry_id, **entry})
        if charge:
            tx.execute(_INSERT_CREDITS, {"spent_at": entry["time"], "credits": charge})
        if entry_id > keep:
            tx.execute(_TRIM, {"upto": entry_id - keep})
        return entry_id

    def journal(self, tx: Tx, *, method: str | None, status: int | None, after_id: int,
                limit: int, direction: str | None = None, before_id: int | None = None
                ) -> Sequence[JournalEntry]:
        """Oldest first: up to `limit` entries after `after_id` matching method, status and
        direction; with `before_id`, newest first: up to `limit` entries before it."""
        query = sa.select(J).where(J.c.id > after_id).limit(limit)
        if before_id is None:
            query = query.order_by(J.c.id)
        else:
            query = query.where(J.c.id < before_id).order_by(J.c.id.desc())
        if method:
            query = query.where(J.c.method == method)
        if status is not None:
            query = query.where(J.c.status == status)
        if direction is not None:
            query = query.where(J.c.direction == direction)
        return [JournalEntry(int(r.id), r.time, r.direction, r.method, r.path, r.query,
                             r.status, r.code, int(r.credits), float(r.duration_ms),
                             r.request_body, r.response_body) for r in tx.execute(query)]

    def credits_spent(self, tx: Tx, since: datetime) -> list[tuple[datetime, int]]:
        """(time, credits) of the journalled incoming calls since `since` that cost any."""
        rows = tx.execute(sa.select(J.c.time, J.c.credits).where(
            J.c.direction == "in", J.c.credits > 0, J.c.time >= since).order_by(J.c.id))
        return [(r.time, int(r.credits)) for r in rows]

    def clear_journal(self, tx: Tx) -> None:
        tx.execute(sa.delete(J))
