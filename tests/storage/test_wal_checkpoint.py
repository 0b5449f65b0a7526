"""SQLite's WAL is copied back into the database file after commits, by the checkpointer thread
outside the write lock, not by the committing connection inside its COMMIT."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import WAL_AUTOCHECKPOINT_PAGES, Database
from corral.storage.migrate import migrate


def _grows_past(path: Path, size: int) -> bool:
    deadline = time.monotonic() + 20
    while path.stat().st_size <= size and time.monotonic() < deadline:
        time.sleep(0.05)
    return path.stat().st_size > size


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
        # The rows reach the database file itself: something checkpoints the WAL.
        assert _grows_past(path, size_before + 20 * 50 * 2000 // 2)
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
        assert _grows_past(path, size_before + 200 * 2000 // 2)
    finally:
        db.dispose()


def test_write_transactions_hold_the_file_writer_lock(tmp_path: Path) -> None:
    """Processes on one SQLite file queue on a lock file the kernel hands over at once (not
    on SQLite's busy handler, which sleeps up to 100 ms between tries)."""
    path = tmp_path / "e.db"
    db = Database(f"sqlite:///{path}")
    try:
        migrate(db)
        other = os.open(f"{path}.writer-lock", os.O_RDWR)
        try:
            with db.write() as tx:
                tx.execute(sa.insert(t.secrets).values(name="a", value="1"))
                with pytest.raises(BlockingIOError):  # another process could not write now
                    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again after the commit
            fcntl.flock(other, fcntl.LOCK_UN)
        finally:
            os.close(other)
    finally:
        db.dispose()
