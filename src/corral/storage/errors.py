"""The one place that reads driver errors: which failures a retry of the transaction can cure.

SQLite and PostgreSQL report a unique violation, a deadlock, a serialisation failure or a busy
database in their own ways (SQLite's extended error names, PostgreSQL's SQLSTATE). Services never
see driver exceptions or their text: `Database.write()` turns these into `StorageConflict`s and
lets every other error through unchanged.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError


class StorageConflict(Exception):
    """A concurrent writer got in the way; the whole transaction may be run again."""


class UniqueViolation(StorageConflict):
    """A unique index refused a row another transaction committed first."""


class Contention(StorageConflict):
    """Deadlock, serialisation failure, lock not available, or a busy SQLite database."""


_PG_UNIQUE = {"23505"}
_PG_CONTENTION = {"40001", "40P01", "55P03"}
_SQLITE_UNIQUE = {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}
_SQLITE_CONTENTION_PREFIXES = ("SQLITE_BUSY", "SQLITE_LOCKED")


def classify(exc: DBAPIError) -> StorageConflict | None:
    """The conflict `exc` stands for, or None when a retry would not help."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        if sqlstate in _PG_UNIQUE:
            return UniqueViolation(sqlstate)
        if sqlstate in _PG_CONTENTION:
            return Contention(sqlstate)
        return None
    name = getattr(orig, "sqlite_errorname", None)
    if isinstance(name, str):
        if name in _SQLITE_UNIQUE:
            return UniqueViolation(name)
        if name.startswith(_SQLITE_CONTENTION_PREFIXES):
            return Contention(name)
    return None


def is_lock_timeout(exc: DBAPIError) -> bool:
    """PostgreSQL gave up waiting for a lock (`lock_timeout`)."""
    return getattr(exc.orig, "sqlstate", None) == "55P03"
