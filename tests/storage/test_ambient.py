"""The request-wide (ambient) transaction: joined writes and reads, savepoints, after-commit
callbacks, dry runs that keep nothing (ids included)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from corral.services import Corral
from corral.storage import tables as t
from corral.storage.database import Database


def secret(db: Database, name: str) -> str | None:
    with db.read() as tx:
        return tx.execute(sa.select(t.secrets.c.value).where(
            t.secrets.c.name == name)).scalar_one_or_none()


def put(db: Database, name: str) -> None:
    with db.write() as tx:
        tx.execute(sa.insert(t.secrets).values(name=name, value="v"))


def counter(db: Database) -> int:
    with db.read() as tx:
        return int(tx.execute(sa.select(t.counters.c.value).where(
            t.counters.c.name == "id")).scalar_one())


def test_writes_inside_commit_together_and_reads_see_them(corral: Corral) -> None:
    db = corral.db
    done: list[str] = []
    with db.ambient():
        put(db, "a")
        assert secret(db, "a") == "v"  # a joined read sees the request's own writes
        db.after_commit(lambda: done.append("committed"))
        assert done == []
        put(db, "b")
    assert done == ["committed"]
    assert secret(db, "a") == secret(db, "b") == "v"


def test_a_failed_inner_write_is_undone_alone(corral: Corral) -> None:
    db = corral.db
    with db.ambient():
        put(db, "kept")
        with pytest.raises(ZeroDivisionError), db.write() as tx:
            tx.execute(sa.insert(t.secrets).values(name="undone", value="v"))
            raise ZeroDivisionError
        put(db, "also kept")
    assert secret(db, "undone") is None
    assert secret(db, "kept") == secret(db, "also kept") == "v"


def test_an_error_rolls_everything_back_and_skips_callbacks(corral: Corral) -> None:
    db = corral.db
    done: list[str] = []
    with pytest.raises(RuntimeError), db.ambient():
        put(db, "gone")
        db.after_commit(lambda: done.append("never"))
        raise RuntimeError
    assert secret(db, "gone") is None and done == []
    put(db, "after")  # the thread is out of the ambient transaction again
    assert secret(db, "after") == "v"


def test_a_dry_run_keeps_nothing_not_even_ids(corral: Corral) -> None:
    db = corral.db
    before = counter(db)
    done: list[str] = []
    with db.ambient(dry=True):
        put(db, "dry")
        ids = db.new_ids(3)
        assert len(set(ids)) == 3
        db.after_commit(lambda: done.append("never"))
    assert secret(db, "dry") is None and done == []
    assert counter(db) == before


def test_ambient_transactions_do_not_nest(corral: Corral) -> None:
    with corral.db.ambient(), pytest.raises(RuntimeError):
        with corral.db.ambient():
            pass


def test_ids_after_the_transaction_took_the_counter_come_from_it(corral: Corral) -> None:
    """PostgreSQL would otherwise reserve a block on another connection, which waits for this
    transaction's lock on the counter row forever."""
    db = corral.db
    with db.ambient() as tx:
        first = db.reserve_in(tx, 2)  # as the write path does for workflow effects
        later = db.new_ids(20_000)  # more than any block left in memory
    assert not set(first) & set(later)
    assert counter(db) >= max(later) - 4_876_876_000_000_000_000 + 1


def test_metadata_seen_inside_a_rolled_back_transaction_is_forgotten(corral: Corral) -> None:
    with pytest.raises(RuntimeError), corral.db.ambient():
        corral.metadata.add_field(corral.registry.require("Leads"),
                                  {"api_name": "Phantom", "label": "Phantom", "type": "text"})
        corral.registry.refresh()
        assert corral.registry.require("Leads").field("Phantom") is not None
        raise RuntimeError
    corral.registry.refresh()
    assert corral.registry.require("Leads").field("Phantom") is None
