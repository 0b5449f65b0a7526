"""Engines and transactions: SQLite (WAL, one serialised writer via BEGIN IMMEDIATE) or PostgreSQL.

Only this package talks SQL. Write transactions on SQLite take the write lock at BEGIN, so a
read-check-write sequence inside one is serialised across processes; on PostgreSQL the unique
index on record_keys (and advisory locks where a key is not unique) give the same guarantee.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from corral.storage import tables as t
from corral.storage.errors import classify

# The transaction handle services pass to repositories. Services never call it themselves.
Tx = Connection

ID_BASE = 4_876_876_000_000_000_000  # ids are 19-digit decimals like Zoho's
ID_BLOCK = 10_000


def normalise_url(url: str) -> str:
    """Accept postgres:// and postgresql:// and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _json_loads(value: Any) -> Any:
    # SQLite gives a column declared JSON numeric affinity, so a bare JSON number ("3",
    # "10.5": a change-log value of a numeric field) is stored, and read back, as a number.
    if isinstance(value, int | float):
        return value
    return orjson.loads(value)


# orjson for the JSON columns: several times faster than the standard library.
_JSON: dict[str, Any] = {"json_serializer": lambda v: orjson.dumps(v).decode(),
                         "json_deserializer": _json_loads}


def _key_hash(field_id: int, value: str) -> int:
    digest = hashlib.blake2b(f"{field_id}:{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


STATISTICS_RELOAD_SECONDS = 600
# Write connections leave the WAL to `_Checkpointer`; SQLite's own checkpoint after a commit
# (at 1,000 pages by default) only comes back past this many pages, as a safety net.
WAL_AUTOCHECKPOINT_PAGES = 20_000
CHECKPOINT_PAUSE_SECONDS = 0.2  # at most ~5 checkpoints a second: each copies many commits
WRITE_CACHE_KIB = 16 * 1024  # the write connections' page cache (`_sqlite_engine`)


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    # A SQLite connection plans with the statistics it read when it opened (a schema change
    # does not make it read them again): recycled so that every process soon plans with what
    # ANALYZE found since (`Database.reload_statistics` does it at once in this process).
    # Last in, first out: the connection used last is used next. SQLite drops a connection's
    # page cache when another connection changed the file since it last read, so taking the
    # pool's connections in turn made every write start with a cold cache (at 1M records,
    # reading the B-tree pages each batch updates again); writers of a process take turns,
    # so they now reuse one connection and its cache.
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 60},
                              pool_size=8, max_overflow=16, pool_use_lifo=True,
                              pool_recycle=STATISTICS_RELOAD_SECONDS, **_JSON)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        if immediate:
            cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
            # A batch dirties a few hundred pages across the field and text indexes: room
            # for them, so SQLite does not spill them to the WAL mid-transaction (2 MiB by
            # default). Writers of a process take turns on one connection (LIFO pool).
            cur.execute(f"PRAGMA cache_size=-{WRITE_CACHE_KIB}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class _Checkpointer:
    """Copies the SQLite WAL back into the database file on a thread of its own, outside the
    write lock.

    SQLite checkpoints from the connection that commits, inside its COMMIT: measured at ~5 ms
    of a ~30 ms upsert transaction on average (up to ~50 ms when many pages are copied), all
    of it while this process's writer lock is held. A PASSIVE checkpoint never blocks writers
    or readers, so it runs here instead, woken by commits and at most every
    CHECKPOINT_PAUSE_SECONDS; its `lock` keeps it out of whole-file operations
    (`Database.sqlite_writer`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lock = threading.Lock()  # held while a checkpoint runs
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def poke(self) -> None:
        """A write transaction committed: checkpoint soon."""
        if self._thread is None or not self._thread.is_alive():
            with self._start_lock:
                if self._thread is None or not self._thread.is_alive():
                    self._stopped = False
                    self._thread = threading.Thread(target=self._run, daemon=True,
                                                    name="corral-wal-checkpoint")
                    self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    def checkpoint(self) -> None:
        with self.lock:
            raw = self.engine.raw_connection()
            try:
                cur = raw.cursor()
                cur.execute("PRAGMA wal_checkpoint(PASSIVE)")
                cur.fetchall()
                cur.close()
            finally:
                raw.close()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stopped:
                return
            self._wake.clear()
            try:
                self.checkpoint()
            except (DBAPIError, sqlite3.Error):
                pass  # busy (another process checkpoints) or gone: the next commit wakes us
            time.sleep(CHECKPOINT_PAUSE_SECONDS)


class _FileWriterLock:
    """One writer at a time across the processes on one SQLite file, as a lock the kernel
    hands over the moment it is released.

    Without it, a process whose BEGIN IMMEDIATE finds another process's write transaction
    waits in SQLite's busy handler, which sleeps 1, 2, 5 ... up to 100 ms between tries:
    measured with `corral serve --workers 2`, 12-45 ms of such waiting per upsert transaction
    while the lock was often free, so two processes wrote no faster than one. Taken by every
    write transaction of `Database` before BEGIN IMMEDIATE (which then finds the file free
    unless a writer from outside Corral holds it: the busy handler still covers those).
    Callers hold the process's writer lock, so `depth` needs no lock of its own."""

    def __init__(self, database_path: str | None) -> None:
        self.path = f"{database_path}.writer-lock" if database_path and fcntl else None
        self._fd: int | None = None
        self._pid = 0
        self._depth = 0

    def _descriptor(self) -> int | None:
        if self._pid != os.getpid():  # a forked child: a lock of its own, not the parent's
            self._fd, self._pid = None, os.getpid()
        if self._fd is None and self.path is not None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError:  # a read-only directory: SQLite's busy handler alone, as before
                self.path = None
        return self._fd

    def __enter__(self) -> None:
        if self._depth == 0:
            fd = self._descriptor()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # waits without the GIL
        self._depth += 1

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._depth == 0 and self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass
class _Ambient:
    """The open transaction every `write()`/`read()` of one thread joins (see `ambient`)."""

    conn: Connection
    dry: bool
    on_commit: list[Callable[[], None]] = field(default_factory=list)
    on_rollback: list[Callable[[], None]] = field(default_factory=list)
    holds_counter: bool = False  # the id counter's row is locked by this transaction


class Database:
    """Holds the engines; hands out read and write transactions and fresh ids."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.dialect = sa.engine.make_url(self.url).get_backend_name()
        if self.dialect == "sqlite":
            self.write_engine = _sqlite_engine(self.url, immediate=True)
            self.read_engine = _sqlite_engine(self.url, immediate=False)
        elif self.dialect == "postgresql":
            # Custom plans always: psycopg prepares a statement run 5 times, and PostgreSQL
            # may then plan it once for any parameter value. For a search such a generic plan
            # cannot use the value's statistics (an email matches one record) and may walk
            # the primary key instead of the field indexes (measured: email= at 10,000 Leads
            # went from ~5 ms to ~150 ms after ten calls). Planning costs well under 1 ms.
            self.write_engine = sa.create_engine(
                self.url, pool_size=10, max_overflow=20, pool_pre_ping=True,
                connect_args={"options": "-c plan_cache_mode=force_custom_plan"}, **_JSON)
            self.read_engine = self.write_engine
        else:
            raise ValueError(f"unsupported database: {self.dialect}")
        self._id_lock = threading.Lock()
        self._sqlite_writer = threading.RLock()
        self._id_next = 0
        self._id_end = 0
        self._local = threading.local()
        self._checkpointer = _Checkpointer(self.read_engine) if self.is_sqlite else None
        database = sa.engine.make_url(self.url).database
        self._file_writer = _FileWriterLock(
            database if self.is_sqlite and database and database != ":memory:" else None)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    # ------------------------------------------------------------------ ambient transaction
    def _ambient(self) -> _Ambient | None:
        return getattr(self._local, "ambient", None)

    @contextmanager
    def ambient(self, *, dry: bool = False) -> Iterator[Connection]:
        """One write transaction that every `write()` and `read()` of this thread joins until
        the block ends, so a whole request's writes commit (or roll back) together with what
        the caller adds (an idempotency key's stored answer).

        A joined `write()` is a savepoint, so the write path's own retry still works inside.
        `after_commit` callbacks wait for the real commit. With `dry`, everything is rolled
        back at the end, the ids `new_ids` handed out included, so nothing at all is consumed.
        Never nested.
        """
        if self._ambient() is not None:
            raise RuntimeError("an ambient transaction is already open in this thread")
        amb: _Ambient | None = None
        try:
            with self._own_write() as conn:
                amb = _Ambient(conn, dry)
                self._local.ambient = amb
                try:
                    yield conn
                    if dry:
                        conn.rollback()
                finally:
                    self._local.ambient = None
        except BaseException:
            for callback in amb.on_rollback if amb is not None else ():
                callback()
            raise
        for callback in amb.on_rollback if dry else amb.on_commit:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the current transaction committed: at once outside an ambient
        transaction (callers call this after their own commit), at its commit inside one,
        never when it rolls back."""
        amb = self._ambient()
        if amb is None:
            callback()
        elif not amb.dry:
            amb.on_commit.append(callback)

    def on_rollback(self, callback: Callable[[], None]) -> None:
        """Run `callback` if the current ambient transaction rolls back (for caches filled
        from what it saw); nothing outside one."""
        amb = self._ambient()
        if amb is not None and callback not in amb.on_rollback:
            amb.on_rollback.append(callback)

    @contextmanager
    def shared_transaction(self) -> Iterator[Connection]:
        """All-or-nothing for a group of units of work (a composite request with
        `rollback_on_fail`): an ambient transaction, or — inside one already (a keyed or
        dry-run composite request) — a savepoint of it. Raising from the block undoes every
        unit in it; each unit's own `write()` is a savepoint, so a failing unit alone can still
        roll back by itself."""
        if self._ambient() is None:
            with self.ambient() as conn:
                yield conn
            return
        with self.write() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction; a conflict with another writer surfaces as `StorageConflict`.

        Inside an ambient transaction: a savepoint of it."""
        amb = self._ambient()
        if amb is None:
            with self._own_write() as conn:
                yield conn
            return
        try:
            with amb.conn.begin_nested():
                yield amb.conn
        except DBAPIError as exc:
            conflict = classify(exc)
            if conflict is None:
                raise
            raise conflict from exc

    @contextmanager
    def _own_write(self) -> Iterator[Connection]:
        try:
            if self.is_sqlite:
                # Writers of this process queue on a lock instead of polling SQLite's busy
                # handler (whose growing sleeps made p99 latency 10-20x p50); other processes
                # still wait on BEGIN IMMEDIATE.
                with self._sqlite_writer, self._file_writer, \
                        self.write_engine.begin() as conn:
                    yield conn
                # Committed and the lock released: copying the WAL back is done elsewhere.
                assert self._checkpointer is not None
                self._checkpointer.poke()
            else:
                with self.write_engine.begin() as conn:
                    yield conn
        except DBAPIError as exc:
            conflict = classify(exc)
            if conflict is None:
                raise
            raise conflict from exc

    @contextmanager
    def savepoint(self, conn: Connection) -> Iterator[None]:
        """Part of a write transaction that an exception rolls back alone (a merge that
        fails half-way leaves nothing, while the job's progress still commits)."""
        with conn.begin_nested():
            yield

    @contextmanager
    def read(self) -> Iterator[Connection]:
        amb = self._ambient()
        if amb is not None:  # see what this request wrote so far
            yield amb.conn
            return
        with self.read_engine.begin() as conn:
            yield conn

    def lock_global(self, conn: Connection, key: int = 1) -> None:
        """Serialise a whole-database step (migrate, seed); SQLite's BEGIN IMMEDIATE does it."""
        if not self.is_sqlite:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))

    def lock_keys(self, conn: Connection, keys: list[tuple[int, str]]) -> None:
        """Advisory locks on (field id, normalised value) pairs until the transaction ends.

        Serialises writers of one duplicate-check key on PostgreSQL even where no unique index
        exists (a system duplicate-check field that is not unique). Sorted to avoid deadlocks.
        """
        if self.is_sqlite or not keys:
            return
        hashes = sorted({_key_hash(f, v) for f, v in keys})
        conn.execute(sa.text(
            "SELECT pg_advisory_xact_lock(k) FROM "
            "(SELECT unnest(CAST(:ks AS bigint[])) AS k ORDER BY 1) AS s"),
                     {"ks": hashes})

    def reserve_in(self, conn: Connection, n: int) -> list[int]:
        """Ids reserved inside the caller's transaction (used only there: a rollback returns
        them). For writes that learn how many ids they need only once the transaction runs."""
        if n <= 0:
            return []
        amb = self._ambient()
        if amb is not None and conn is amb.conn:
            amb.holds_counter = True
        row = conn.execute(sa.update(t.counters).where(t.counters.c.name == "id")
                           .values(value=t.counters.c.value + n)
                           .returning(t.counters.c.value)).first()
        assert row is not None
        end = int(row[0])
        # The same counter as new_ids(): each reservation advances it, so ranges never meet.
        return [ID_BASE + x for x in range(end - n, end)]

    def new_ids(self, n: int) -> list[int]:
        """Fresh ids from a block reserved in its own committed transaction.

        Never call inside an open write transaction on SQLite (it would wait on itself) other
        than an ambient one: there the ids come from inside it (SQLite: the ambient holds the
        write lock; a dry run on both databases, whose rollback returns them), and none is
        kept in memory; PostgreSQL's real writes reserve blocks in their own transaction.
        """
        amb = self._ambient()
        if amb is not None and n > 0 and (amb.dry or self.is_sqlite or amb.holds_counter):
            # PostgreSQL: once the ambient transaction holds the counter's row (the write
            # path reserved ids in it), a block reserved on another connection would wait
            # for this very transaction forever.
            return self.reserve_in(amb.conn, n)
        out: list[int] = []
        with self._id_lock:
            while len(out) < n:
                if self._id_next >= self._id_end:
                    want = max(ID_BLOCK, n - len(out))
                    start = self._reserve_block(want)
                    self._id_next, self._id_end = start, start + want
                take = min(n - len(out), self._id_end - self._id_next)
                out.extend(range(ID_BASE + self._id_next, ID_BASE + self._id_next + take))
                self._id_next += take
        return out

    def new_id(self) -> int:
        return self.new_ids(1)[0]

    def forget_ids(self) -> None:
        """Drop this process's reserved id block (after the counters row was restored, so the
        next ids continue from the restored counter and never meet a block reserved later)."""
        with self._id_lock:
            self._id_next = self._id_end = 0

    @contextmanager
    def sqlite_writer(self) -> Iterator[None]:
        """Hold this process's SQLite writer lock (whole-file operations: snapshot restore),
        with no checkpoint of this process running meanwhile."""
        assert self._checkpointer is not None
        with self._sqlite_writer, self._file_writer, self._checkpointer.lock:
            yield

    def _reserve_block(self, size: int) -> int:
        with self._own_write() as conn:
            row = conn.execute(
                sa.update(t.counters).where(t.counters.c.name == "id")
                .values(value=t.counters.c.value + size).returning(t.counters.c.value)
            ).first()
            if row is None:
                raise RuntimeError("schema not migrated: counters row 'id' missing")
            return int(row[0]) - size

    def reload_statistics(self) -> None:
        """Plan with fresh statistics from now on (after ANALYZE): SQLite connections are
        replaced as they are next needed; those in use finish first. PostgreSQL's planner
        reads the catalog, so nothing to do there."""
        if self.is_sqlite:
            self.write_engine.dispose(close=False)
            self.read_engine.dispose(close=False)

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()  # a later write starts it again
            # The lock file stays open while a write runs (or a restore disposes inside one).
            if self._sqlite_writer.acquire(blocking=False):
                try:
                    self._file_writer.close()
                finally:
                    self._sqlite_writer.release()
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()
