"""Database.shared_transaction (composite requests) and the outbox's order per channel."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from corral.services import Corral
from corral.storage import tables as t
from corral.storage.database import Database
from corral.storage.repositories.outbox import OutboxRepository, OutboxRow

T0 = datetime(2026, 1, 1)


@pytest.fixture
def db(corral: Corral) -> Database:
    return corral.db


def _counter(db: Database) -> int:
    with db.read() as tx:
        return int(tx.execute(sa.select(t.counters.c.value)
                              .where(t.counters.c.name == "id")).scalar_one())


def _secret_rows(db: Database) -> int:
    with db.read() as tx:
        return int(tx.execute(sa.select(sa.func.count()).select_from(t.secrets)).scalar_one())


def _add_secret(db: Database, name: str) -> None:
    with db.write() as tx:
        tx.execute(sa.insert(t.secrets).values(name=name, value="v"))


def test_writes_join_and_commit_together_with_hooks_after(db: Database) -> None:
    before, seen = _secret_rows(db), []
    with db.shared_transaction():
        _add_secret(db, "a")
        _add_secret(db, "b")
        assert _secret_rows(db) == before + 2  # reads see the shared transaction's writes
        db.after_commit(lambda: seen.append(_secret_rows(db)))
        assert seen == []
        ids = db.new_ids(3)
    assert seen == [before + 2] and _secret_rows(db) == before + 2
    assert len(set(ids)) == 3 and _counter(db) >= ids[-1] - 4_876_876_000_000_000_000


def test_a_raise_rolls_everything_back_and_drops_hooks(db: Database) -> None:
    before, counter, seen = _secret_rows(db), _counter(db), []
    with pytest.raises(RuntimeError), db.shared_transaction():
        _add_secret(db, "a")
        db.new_ids(5)
        db.after_commit(lambda: seen.append(1))
        raise RuntimeError("sub-request 3 failed")
    # Ids drawn meanwhile may stay consumed (PostgreSQL reserves real writes' ids in their own
    # transaction so the counter row is not held for the whole request); they are never reused.
    assert (_secret_rows(db), seen) == (before, []) and _counter(db) >= counter


def test_a_failed_savepoint_rolls_back_alone(db: Database) -> None:
    before = _secret_rows(db)
    with db.shared_transaction():
        _add_secret(db, "a")
        with pytest.raises(RuntimeError), db.write() as tx:
            tx.execute(sa.insert(t.secrets).values(name="b", value="v"))
            raise RuntimeError("this unit fails")
    assert _secret_rows(db) == before + 1


def test_a_channel_is_delivered_in_id_order(db: Database) -> None:
    box = OutboxRepository()
    row = OutboxRow(id=1, rule_id=1, module_id=1, record_id=1, url="http://127.0.0.1:9/h",
                    payload={}, attempts=0, channel_key="c1")
    with db.write() as tx:
        box.add(tx, [row, replace(row, id=2), replace(row, id=3, channel_key="c2")], T0)
    later = T0 + timedelta(minutes=5)
    with db.write() as tx:
        first = box.claim_due(tx, T0, later)  # row 1 leased: row 2 waits behind it
        second = box.claim_due(tx, T0, later)
        assert box.claim_due(tx, T0, later) is None
    assert first is not None and second is not None and (first.id, second.id) == (1, 3)
    with db.write() as tx:
        box.record_attempt(tx, 1, status_code=200, error=None, status="delivered",
                           delivered_time=T0, attempt=1, attempted_time=T0)
        third = box.claim_due(tx, T0, later)
    assert third is not None and third.id == 2
    with db.read() as tx:
        (listed,) = box.deliveries(tx, rule_id=None, status="delivered", limit=10)
    assert [a.status_code for a in listed.history] == [200]
