"""Whole-database snapshots for emulator mode: save, restore, list, delete.

SQLite: SQLite's online backup API copies the database file page by page into a file of the
snapshot directory (one read transaction, so the copy is consistent), and back again on restore.
The emulator's own state (tables.EMULATOR_TABLES: clock, faults, credits, journal) is not
part of a snapshot: a restore leaves it as it was.
PostgreSQL: every table is copied with `CREATE TABLE ... AS SELECT` into a schema of its own in
one REPEATABLE READ transaction; restore truncates the live tables and copies the rows back in
one transaction. Snapshot names are data (bound parameters, or hashed into a file/schema name);
only table names from `tables.metadata` reach SQL text.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Database

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
PG_SCHEMA = "corral_emulator"
_INDEX = "index.json"


@dataclass(frozen=True)
class SnapshotInfo:
    name: str
    created_time: datetime
    records: int


class SnapshotNotFound(LookupError):
    pass


def valid_name(name: object) -> bool:
    return isinstance(name, str) and NAME.match(name) is not None


def _slug(name: str) -> str:
    """A file / schema name for a snapshot name: case-safe and short."""
    return "snap_" + hashlib.sha256(name.encode()).hexdigest()[:24]


def _sqlite_path(db: Database) -> Path:
    database = sa.engine.make_url(db.url).database
    if not database or database == ":memory:":
        raise ValueError("snapshots need a SQLite database file")
    return Path(database)


def _live_records(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM records WHERE deleted_time IS NULL")
               .fetchone()[0])


def _tables(conn: sqlite3.Connection, schema: str) -> set[str]:
    return {r[0] for r in conn.execute(f"SELECT name FROM {schema}.sqlite_master "
                                       "WHERE type = 'table'")}


def _keep_emulator_state(conn: sqlite3.Connection) -> list[str]:
    """Copy the emulator's state tables aside (a temporary database attached as `keep`): a
    restore replaces the whole file, and they are not part of what it restores."""
    conn.execute("ATTACH DATABASE '' AS keep")
    live = _tables(conn, "main")
    kept = [table.name for table in t.EMULATOR_TABLES if table.name in live]
    for name in kept:
        conn.execute(f'CREATE TABLE keep."{name}" AS SELECT * FROM main."{name}"')
    return kept


def _put_back_emulator_state(conn: sqlite3.Connection, kept: list[str]) -> None:
    restored = _tables(conn, "main")
    with conn:  # one transaction
        for name in kept:
            if name in restored:  # a snapshot older than the emulator tables has none
                conn.execute(f'DELETE FROM main."{name}"')
                conn.execute(f'INSERT INTO main."{name}" SELECT * FROM keep."{name}"')
    conn.execute("DETACH DATABASE keep")


class SnapshotStore:
    """Snapshots of one database, kept next to it (a directory, or a PostgreSQL schema)."""

    def __init__(self, db: Database, directory: Path | None = None) -> None:
        self.db = db
        if db.is_sqlite:
            path = _sqlite_path(db)
            self.directory = directory or path.with_name(path.name + ".snapshots")

    # ------------------------------------------------------------------------- public
    def save(self, name: str, now: datetime) -> SnapshotInfo:
        if self.db.is_sqlite:
            return self._sqlite_save(name, now)
        return self._pg_save(name, now)

    def restore(self, name: str, *, keep_credentials: bool = False) -> None:
        """Put the database back exactly as the snapshot; with `keep_credentials`, OAuth
        clients and tokens issued since stay valid (those of users the snapshot has)."""
        kept = self._credentials() if keep_credentials else {}
        if self.db.is_sqlite:
            self._sqlite_restore(name)
        else:
            self._pg_restore(name)
        self.db.forget_ids()
        if kept:
            self._put_back(kept)

    def _credentials(self) -> dict[str, list[dict[str, object]]]:
        with self.db.read() as conn:
            return {table.name: [dict(r._mapping) for r in conn.execute(sa.select(table))]
                    for table in (t.oauth_clients, t.oauth_tokens)}

    def _put_back(self, kept: dict[str, list[dict[str, object]]]) -> None:
        with self.db.write() as conn:
            users = set(conn.execute(sa.select(t.users.c.id)).scalars())
            for table in (t.oauth_clients, t.oauth_tokens):
                key = next(iter(table.primary_key.columns))
                present = set(conn.execute(sa.select(key)).scalars())
                rows = [r for r in kept[table.name]
                        if r[key.name] not in present and r["user_id"] in users]
                if rows:
                    conn.execute(sa.insert(table), rows)

    def list(self) -> list[SnapshotInfo]:
        if self.db.is_sqlite:
            return sorted(self._sqlite_index().values(), key=lambda s: (s.created_time, s.name))
        with self.db.read() as conn:
            if not self._pg_has_index(conn):
                return []
            rows = conn.execute(sa.text(
                f"SELECT name, created_time, records FROM {PG_SCHEMA}.snapshots "
                "ORDER BY created_time, name")).all()
        return [SnapshotInfo(r[0], r[1], int(r[2])) for r in rows]

    def get(self, name: str) -> SnapshotInfo | None:
        return next((s for s in self.list() if s.name == name), None)

    def delete(self, name: str) -> bool:
        if self.db.is_sqlite:
            index = self._sqlite_index()
            if name not in index:
                return False
            del index[name]
            (self.directory / f"{_slug(name)}.db").unlink(missing_ok=True)
            self._sqlite_write_index(index)
            return True
        with self.db.write() as conn:
            if not self._pg_has_index(conn):
                return False
            found = conn.execute(sa.text(f"DELETE FROM {PG_SCHEMA}.snapshots WHERE name = :n "
                                         "RETURNING name"), {"n": name}).first()
            if found is None:
                return False
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{_slug(name)}" CASCADE')
        return True

    # ------------------------------------------------------------------------- SQLite
    def _sqlite_index(self) -> dict[str, SnapshotInfo]:
        path = self.directory / _INDEX
        if not path.exists():
            return {}
        raw = json.loads(path.read_text())
        return {k: SnapshotInfo(k, datetime.fromisoformat(v["created_time"]), v["records"])
                for k, v in raw.items()}

    def _sqlite_write_index(self, index: dict[str, SnapshotInfo]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / (_INDEX + ".tmp")
        tmp.write_text(json.dumps({k: {"created_time": v.created_time.isoformat(),
                                       "records": v.records} for k, v in index.items()}))
        tmp.replace(self.directory / _INDEX)

    def _sqlite_save(self, name: str, now: datetime) -> SnapshotInfo:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"{_slug(name)}.db"
        partial = target.with_suffix(".partial")
        source = sqlite3.connect(_sqlite_path(self.db), timeout=60)
        dest = sqlite3.connect(partial)
        # A snapshot half written is thrown away (it is renamed into place only when whole),
        # so its writes need no fsync.
        dest.execute("PRAGMA synchronous=OFF")
        try:
            source.backup(dest)  # one step: one read transaction, a consistent copy
            records = _live_records(dest)
        finally:
            dest.close()
            source.close()
        partial.replace(target)
        info = SnapshotInfo(name, now, records)
        index = self._sqlite_index()
        index[name] = info
        self._sqlite_write_index(index)
        return info

    def _sqlite_restore(self, name: str) -> None:
        if name not in self._sqlite_index():
            raise SnapshotNotFound(name)
        source = sqlite3.connect(self.directory / f"{_slug(name)}.db")
        # This process's writers wait on the writer lock; the backup takes SQLite's own lock
        # against everyone else, and readers see the old or the new database, never a mix.
        with self.db.sqlite_writer():
            self.db.dispose()  # idle pooled connections closed: the file may be ours alone
            dest = sqlite3.connect(_sqlite_path(self.db), timeout=60)
            # An emulator's database is disposable: a restore cut short by a crash is
            # restored again, so it skips the fsyncs and, when no other connection has the
            # file open (SQLite then lets WAL mode be left), the WAL: pages go straight into
            # the file instead of through the WAL and a checkpoint. Otherwise it stays in WAL.
            dest.execute("PRAGMA synchronous=OFF")
            kept = _keep_emulator_state(dest)
            try:
                direct = dest.execute("PRAGMA journal_mode=OFF").fetchone()[0] == "off"
            except sqlite3.OperationalError:  # another connection has it: stay in WAL
                direct = False
            try:
                source.backup(dest)
            finally:
                if direct:
                    dest.execute("PRAGMA journal_mode=WAL")
                try:
                    _put_back_emulator_state(dest, kept)
                finally:
                    dest.close()
                    source.close()
        self.db.dispose()  # pooled connections reopen on the restored file

    # ------------------------------------------------------------------------- PostgreSQL
    @staticmethod
    def _pg_has_index(conn: sa.Connection) -> bool:
        return bool(conn.execute(sa.text(
            "SELECT to_regclass(:n) IS NOT NULL"), {"n": f"{PG_SCHEMA}.snapshots"}).scalar())

    def _pg_save(self, name: str, now: datetime) -> SnapshotInfo:
        schema = _slug(name)
        with self.db.write_engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}")
                conn.exec_driver_sql(
                    f"CREATE TABLE IF NOT EXISTS {PG_SCHEMA}.snapshots (name text PRIMARY KEY, "
                    "created_time timestamp NOT NULL, records bigint NOT NULL)")
                conn.execute(sa.text(f"DELETE FROM {PG_SCHEMA}.snapshots WHERE name = :n"),
                             {"n": name})
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
                for table in t.metadata.sorted_tables:
                    conn.exec_driver_sql(
                        f'CREATE TABLE "{schema}"."{table.name}" AS '
                        f'SELECT * FROM public."{table.name}"')
                records = int(conn.execute(sa.select(sa.func.count()).select_from(t.records)
                                           .where(t.records.c.deleted_time.is_(None)))
                              .scalar_one())
                conn.execute(sa.text(f"INSERT INTO {PG_SCHEMA}.snapshots VALUES (:n, :c, :r)"),
                             {"n": name, "c": now, "r": records})
        return SnapshotInfo(name, now, records)

    def _pg_restore(self, name: str) -> None:
        schema = _slug(name)
        tables = t.metadata.sorted_tables
        with self.db.write() as conn:
            if not self._pg_has_index(conn) or conn.execute(sa.text(
                    f"SELECT 1 FROM {PG_SCHEMA}.snapshots WHERE name = :n"),
                    {"n": name}).first() is None:
                raise SnapshotNotFound(name)
            names = ", ".join(f'public."{table.name}"' for table in tables)
            conn.exec_driver_sql(f"TRUNCATE {names}")
            for table in tables:
                cols = ", ".join(f'"{c.name}"' for c in table.columns)
                conn.exec_driver_sql(f'INSERT INTO public."{table.name}" ({cols}) '
                                     f'SELECT {cols} FROM "{schema}"."{table.name}"')
            for table in tables:
                for column in table.columns:
                    if column.autoincrement is True:
                        conn.exec_driver_sql(
                            f"SELECT setval(pg_get_serial_sequence('public.{table.name}', "
                            f"'{column.name}'), coalesce((SELECT max(\"{column.name}\") FROM "
                            f'public."{table.name}"), 0) + 1, false)')
