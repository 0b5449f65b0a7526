"""Loads module and field definitions from the database and caches them per metadata version.

Every metadata change bumps the `meta` counter in the same transaction; each process checks that
counter (one indexed read) before using its cache, so several server processes stay in step.
"""

from __future__ import annotations

import threading

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from corral.errors import InvalidModule
from corral.metadata.model import Field, Module
from corral.storage import tables as t
from corral.storage.database import Database


def bump_version(conn: Connection) -> None:
    conn.execute(sa.update(t.counters).where(t.counters.c.name == "meta")
                 .values(value=t.counters.c.value + 1))


def _version(conn: Connection) -> int:
    row = conn.execute(sa.select(t.counters.c.value).where(t.counters.c.name == "meta")).first()
    return int(row[0]) if row else 0


def load_modules(conn: Connection) -> dict[str, Module]:
    fields_by_module: dict[int, list[Field]] = {}
    for r in conn.execute(sa.select(t.fields).order_by(t.fields.c.sequence_number, t.fields.c.id)):
        fields_by_module.setdefault(r.module_id, []).append(Field(
            id=r.id, module_id=r.module_id, api_name=r.api_name, label=r.field_label,
            data_type=r.data_type, length=r.length, mandatory=r.system_mandatory,
            read_only=r.read_only, unique=r.is_unique, custom=r.custom_field,
            pick_list=tuple(r.pick_list or ()), lookup_module=r.lookup_module,
            textarea_type=r.textarea_type, mass_update_flag=r.mass_update,
            sequence=r.sequence_number,
            convert_mapping=tuple(sorted((r.convert_mapping or {}).items())),
        ))
    out: dict[str, Module] = {}
    for m in conn.execute(sa.select(t.modules).order_by(t.modules.c.sequence_number)):
        out[m.api_name] = Module(
            id=m.id, api_name=m.api_name, singular_label=m.singular_label,
            plural_label=m.plural_label, scope_name=m.scope_name,
            dup_check_field=m.dup_check_field, generated_type=m.generated_type,
            layout_id=m.layout_id, sequence=m.sequence_number,
            fields=tuple(fields_by_module.get(m.id, ())),
        )
    return out


class Registry:
    """Process-wide cache of the metadata; `snapshot()` is cheap when nothing changed."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._version = -1
        self._modules: dict[str, Module] = {}
        self._lower: dict[str, Module] = {}
        self._by_id: dict[int, Module] = {}

    def refresh(self, conn: Connection | None = None) -> None:
        if conn is None:
            with self._db.read() as c:
                self._refresh(c)
        else:
            self._refresh(conn)

    def _refresh(self, conn: Connection) -> None:
        version = _version(conn)
        if version == self._version:
            return
        with self._lock:
            mods = load_modules(conn)
            self._modules = mods
            self._lower = {k.lower(): v for k, v in mods.items()}
            self._by_id = {m.id: m for m in mods.values()}
            self._version = version

    def modules(self) -> list[Module]:
        return list(self._modules.values())

    def get(self, api_name: str) -> Module | None:
        # Zoho module names in URLs are case-insensitive.
        return self._modules.get(api_name) or self._lower.get(api_name.lower())

    def require(self, api_name: str) -> Module:
        module = self.get(api_name)
        if module is None:
            raise InvalidModule(details={"resource_path_index": 0})
        return module

    def by_id(self, module_id: int) -> Module | None:
        return self._by_id.get(module_id)
