"""SQLite's WAL is copied back into the database file after commits, by the checkpointer thread
outside the write lock, not by the committing connection inside its COMMIT."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import WAL_AUTOCHECKPOINT_PAGES, Database
from corral.storage.migrate import migrate


def test_commits_are_checkpointed_outside_the_committing_connection(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    db = Database(f"sqlite:///{path}")
    try:
        migrate(db)
        with db.write() as tx:
            auto = tx.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        assert auto == WAL_AUTOCHECKPOINT_PAGES  # SQLite's own checkpoint only as a safety net
        size_before = path.stat().st_size
        for n in range(20):
            with db.write() as tx:
                tx.execute(sa.insert(t.secrets), [{"name": f"s{n}-{i}", "value": "x" * 2000}
                                                  for i in range(50)])
        deadline = time.monotonic() + 20
        while path.stat().st_size <= size_before and time.monotonic() < deadline:
            time.sleep(0.05)
        # The rows reached the database file itself: something checkpointed the WAL.
        assert path.stat().st_size > size_before + 20 * 50 * 2000 // 2
        with db.read() as tx:
            assert tx.execute(sa.select(sa.func.count()).select_from(t.secrets)).scalar() == 1000
    finally:
        db.dispose()


def test_writes_continue_after_dispose(tmp_path: Path) -> None:
    """`dispose` (a snapshot restore does it) stops the checkpointer; the next write brings
    it back."""
    path = tmp_path / "d.db"
    db = Database(f"sqlite:///{path}")
    try:
        migrate(db)
        db.dispose()
        size_before = path.stat().st_size
        with db.write() as tx:
            tx.execute(sa.insert(t.secrets), [{"name": f"s{i}", "value": "y" * 2000}
                                              for i in range(200)])
        deadline = time.monotonic() + 20
        while path.stat().st_size <= size_before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size > size_before + 200 * 2000 // 2
    finally:
        db.dispose()
