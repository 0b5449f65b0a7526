"""Duplicate Check Preference (facts §4): block Leads that duplicate converted Leads or Contacts.

Stored per module (Zoho supports only Leads); read by the write path inside every Leads write
transaction, so a change takes effect on the next request. The handler wraps body and state
errors as `{"duplicate_check_preference": error}`, as Zoho's v8 spec does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from corral.errors import (
    AlreadyConfigured,
    AmbiguityDuringProcessing,
    CorralError,
    DependentFieldMissing,
    ExpectedFieldMissing,
    FeatureNotSupported,
    InvalidData,
    MandatoryNotFound,
    NotAllowed,
)
from corral.metadata.model import Field, Module
from corral.metadata.registry import Registry
from corral.storage.database import Database, Tx
from corral.storage.errors import UniqueViolation
from corral.storage.repositories.preferences import PreferenceRepository

TYPES = ("converted_records", "mapped_module_records")
WRAP = "duplicate_check_preference"
ROOT = "$.duplicate_check_preference"

_repo = PreferenceRepository()


@dataclass(frozen=True)
class Preference:
    type: str
    mapped_module: Module | None = None
    # (field of the current module, field of the mapped module)
    mappings: tuple[tuple[Field, Field], ...] = ()


def load_preference(conn: Tx, registry: Registry, module: Module) -> Preference | None:
    stored = _repo.find_preference(conn, module.id)
    if stored is None:
        return None
    if stored.type != "mapped_module_records":
        return Preference(type=stored.type)
    config = stored.config or {}
    mapped = registry.by_id(int(config["mapped_module_id"]))
    if mapped is None:
        return None
    by_id_cur = {f.id: f for f in module.fields}
    by_id_map = {f.id: f for f in mapped.fields}
    pairs = tuple((by_id_cur[int(c)], by_id_map[int(m)]) for c, m in config["field_mappings"]
                  if int(c) in by_id_cur and int(m) in by_id_map)
    return Preference(type=stored.type, mapped_module=mapped, mappings=pairs)


def is_unique_field(module: Module, f: Field) -> bool:
    """Mappable fields: flagged unique, or the module's system duplicate-check field."""
    return f.unique or f.api_name == module.dup_check_field


def _err(cls: type[CorralError], message: str | None = None, **details: Any) -> CorralError:
    return cls(message, details)


class PreferenceService:
    def __init__(self, db: Database, registry: Registry, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.registry = registry
        self.clock = clock

    def get(self, module: Module) -> Preference | None:
        with self.db.read() as tx:
            return load_preference(tx, self.registry, module)

    # ------------------------------------------------------------------ parsing
    def _ref(self, obj: Any, path: str, resolve: Callable[[str | None, int | None], Any],
             ) -> Any:
        """A `{id | api_name}` reference resolved to a module or field; Zoho-shaped errors."""
        if not isinstance(obj, dict):
            raise _err(MandatoryNotFound, api_name=path.rsplit(".", 1)[-1], json_path=path)
        api_name, raw_id = obj.get("api_name"), obj.get("id")
        if api_name is None and raw_id is None:
            raise _err(ExpectedFieldMissing, expected_fields=[
                {"api_name": "id", "json_path": f"{path}.id"},
                {"api_name": "api_name", "json_path": f"{path}.api_name"}])
        by_id = None
        if raw_id is not None:
            try:
                by_id = resolve(None, int(str(raw_id)))
            except ValueError:
                by_id = None
            if by_id is None:
                raise _err(InvalidData, api_name="id", json_path=f"{path}.id")
        by_name = None
        if api_name is not None:
            by_name = resolve(str(api_name), None) if isinstance(api_name, str) else None
            if by_name is None:
                raise _err(InvalidData, api_name="api_name", json_path=f"{path}.api_name")
        if by_id is not None and by_name is not None and by_id is not by_name and \
                getattr(by_id, "id", None) != getattr(by_name, "id", None):
            raise _err(AmbiguityDuringProcessing, ambiguity_due_to=[
                {"api_name": "id", "json_path": f"{path}.id"},
                {"api_name": "api_name", "json_path": f"{path}.api_name"}])
        return by_id if by_id is not None else by_name

    def _resolve_module(self, name: str | None, mid: int | None) -> Module | None:
        if name is not None:
            return self.registry.get(name)
        return self.registry.by_id(mid or 0)

    @staticmethod
    def _field_resolver(module: Module) -> Callable[[str | None, int | None], Field | None]:
        def resolve(name: str | None, fid: int | None) -> Field | None:
            if name is not None:
                return module.field(name)
            return next((f for f in module.fields if f.id == fid), None)
        return resolve

    def parse(self, module: Module, body: Any) -> tuple[str, dict[str, Any] | None]:
        """Validate a POST/PUT body; returns (type, stored config)."""
        if not isinstance(body, dict) or not isinstance(body.get(WRAP), dict):
            raise _err(MandatoryNotFound, api_name=WRAP, json_path=ROOT)
        pref = body[WRAP]
        kind = pref.get("type")
        if kind is None:
            raise _err(MandatoryNotFound, api_name="type", json_path=f"{ROOT}.type")
        if kind not in TYPES:
            raise _err(InvalidData, api_name="type", json_path=f"{ROOT}.type",
                       supported_values=list(TYPES))
        if kind == "converted_records":
            return kind, None
        configs = pref.get("type_configurations")
        if configs is None:
            raise _err(DependentFieldMissing, api_name="type_configurations",
                       json_path=f"{ROOT}.type_configurations",
                       dependee={"api_name": "type", "json_path": f"{ROOT}.type"})
        if not isinstance(configs, list) or len(configs) != 1 or not isinstance(configs[0], dict):
            raise _err(InvalidData, api_name="type_configurations",
                       json_path=f"{ROOT}.type_configurations")
        base = f"{ROOT}.type_configurations[0]"
        config = configs[0]
        mapped = self._ref(config.get("mapped_module"), f"{base}.mapped_module",
                           self._resolve_module)
        if mapped.api_name != "Contacts":
            raise _err(FeatureNotSupported, "feature not supported for the given mapped module",
                       api_name="mapped_module", json_path=f"{base}.mapped_module")
        mappings = config.get("field_mappings")
        if not isinstance(mappings, list) or not mappings:
            raise _err(MandatoryNotFound, api_name="field_mappings",
                       json_path=f"{base}.field_mappings")
        pairs: list[list[int]] = []
        for i, m in enumerate(mappings):
            path = f"{base}.field_mappings[{i}]"
            if not isinstance(m, dict):
                raise _err(InvalidData, api_name="field_mappings", json_path=path)
            cur = self._ref(m.get("current_field"), f"{path}.current_field",
                            self._field_resolver(module))
            tgt = self._ref(m.get("mapped_field"), f"{path}.mapped_field",
                            self._field_resolver(mapped))
            for f, owner, key in ((cur, module, "current_field"), (tgt, mapped, "mapped_field")):
                if not is_unique_field(owner, f):
                    raise _err(NotAllowed, "the given field is not a unique field",
                               api_name=f.api_name, json_path=f"{path}.{key}")
            pairs.append([cur.id, tgt.id])
        return kind, {"mapped_module_id": mapped.id, "field_mappings": pairs}

    # ------------------------------------------------------------------ changes
    def create(self, module: Module, body: Any) -> str:
        kind, config = self.parse(module, body)
        now = self.clock()
        try:
            with self.db.write() as tx:
                if _repo.find_preference(tx, module.id) is not None:
                    raise _err(AlreadyConfigured)
                _repo.add_preference(tx, module.id, kind, config, now=now)
        except UniqueViolation:  # a concurrent request configured the module first
            raise _err(AlreadyConfigured) from None
        return kind

    def update(self, module: Module, body: Any) -> str:
        kind, config = self.parse(module, body)
        with self.db.write() as tx:
            if not _repo.replace_preference(tx, module.id, kind, config,
                                            modified_time=self.clock()):
                raise _err(FeatureNotSupported, "Feature not enabled")
        return kind

    def delete(self, module: Module) -> str:
        with self.db.write() as tx:
            removed = _repo.remove_preference(tx, module.id)
            if removed is None:
                raise _err(FeatureNotSupported, "Feature not enabled")
        return removed
