"""Duplicate Check Preferences: at most one row per module (Zoho supports only Leads)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx


@dataclass(frozen=True)
class StoredPreference:
    module_id: int
    type: str  # converted_records | mapped_module_records
    # mapped_module_records: {"mapped_module_id": int, "field_mappings": [[current, mapped]]}
    config: dict[str, Any] | None
    created_time: datetime
    modified_time: datetime


# Read by every write batch of a module: built once.
_FIND = sa.select(t.dup_check_preferences).where(
    t.dup_check_preferences.c.module_id == sa.bindparam("mid"))


class PreferenceRepository:
    def find_preference(self, tx: Tx, module_id: int) -> StoredPreference | None:
        row = tx.execute(_FIND, {"mid": module_id}).first()
        if row is None:
            return None
        return StoredPreference(module_id=row.module_id, type=row.type, config=row.config,
                                created_time=row.created_time,
                                modified_time=row.modified_time)

    def add_preference(self, tx: Tx, module_id: int, type_: str,
                       config: dict[str, Any] | None, *, now: datetime) -> None:
        """`Database.write()` raises `UniqueViolation` when the module has one already."""
        tx.execute(sa.insert(t.dup_check_preferences).values(
            module_id=module_id, type=type_, config=config, created_time=now,
            modified_time=now))

    def replace_preference(self, tx: Tx, module_id: int, type_: str,
                           config: dict[str, Any] | None, *, modified_time: datetime) -> bool:
        """Overwrite the module's preference; False when it has none."""
        done = tx.execute(sa.update(t.dup_check_preferences).where(
            t.dup_check_preferences.c.module_id == module_id).values(
            type=type_, config=config, modified_time=modified_time)).rowcount
        return bool(done)

    def remove_preference(self, tx: Tx, module_id: int) -> str | None:
        """Delete the module's preference; returns its type, or None when it had none."""
        row = tx.execute(sa.select(t.dup_check_preferences.c.type).where(
            t.dup_check_preferences.c.module_id == module_id)).first()
        if row is None:
            return None
        tx.execute(sa.delete(t.dup_check_preferences).where(
            t.dup_check_preferences.c.module_id == module_id))
        return str(row.type)
