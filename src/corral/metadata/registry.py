"""Loads module and field definitions from the database and caches them per metadata version.

Every metadata change bumps the `meta` counter in the same transaction; each process checks that
counter (one indexed read) before using its cache, so several server processes stay in step.
"""

from __future__ import annotations

import threading

from corral.errors import InvalidModule
from corral.metadata.model import Field, Module
from corral.storage.database import Database, Tx
from corral.storage.repositories.metadata import (
    FieldDefinition,
    MetadataRepository,
    ModuleDefinition,
)

_repo = MetadataRepository()


def field_from_definition(d: FieldDefinition) -> Field:
    return Field(
        id=d.id, module_id=d.module_id, api_name=d.api_name, label=d.label,
        data_type=d.data_type, length=d.length, mandatory=d.mandatory, read_only=d.read_only,
        unique=d.unique, custom=d.custom, pick_list=d.pick_list,
        lookup_module=d.lookup_module, textarea_type=d.textarea_type,
        mass_update_flag=d.mass_update, sequence=d.sequence,
        convert_mapping=d.convert_mapping)


def module_from_definition(d: ModuleDefinition, fields: list[FieldDefinition]) -> Module:
    return Module(
        id=d.id, api_name=d.api_name, singular_label=d.singular_label,
        plural_label=d.plural_label, scope_name=d.scope_name,
        dup_check_field=d.dup_check_field, generated_type=d.generated_type,
        layout_id=d.layout_id, sequence=d.sequence,
        fields=tuple(field_from_definition(f) for f in fields))


def load_modules(conn: Tx) -> dict[str, Module]:
    fields = _repo.fields_by_module(conn)
    return {m.api_name: module_from_definition(m, fields.get(m.id, []))
            for m in _repo.all_modules(conn)}


class Registry:
    """Process-wide cache of the metadata; `snapshot()` is cheap when nothing changed."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._version = -1
        self._modules: dict[str, Module] = {}
        self._lower: dict[str, Module] = {}
        self._by_id: dict[int, Module] = {}

    def refresh(self, conn: Tx | None = None) -> None:
        if conn is None:
            with self._db.read() as c:
                self._refresh(c)
        else:
            self._refresh(conn)

    def invalidate(self) -> None:
        """Reload on next refresh whatever the version says (the database was restored)."""
        with self._lock:
            self._version = -1

    def _refresh(self, conn: Tx) -> None:
        version = _repo.version(conn)
        if version == self._version:
            return
        with self._lock:
            mods = load_modules(conn)
            self._modules = mods
            self._lower = {k.lower(): v for k, v in mods.items()}
            self._by_id = {m.id: m for m in mods.values()}
            self._version = version
        # Loaded inside a request transaction that may yet roll back (a dry run, a failed
        # keyed write): then load again next time rather than trust a version number that
        # another change could reuse.
        self._db.on_rollback(self._forget)

    def _forget(self) -> None:
        with self._lock:
            self._version = -1

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
