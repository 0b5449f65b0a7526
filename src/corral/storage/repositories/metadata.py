"""Metadata definitions as stored: the org, modules, fields, system custom views, and the
metadata version counter every change bumps (processes compare it to refresh their cache)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx

META_COUNTER = "meta"


@dataclass(frozen=True)
class Org:
    id: int
    company_name: str
    time_zone: str
    currency: str
    created_time: datetime


@dataclass(frozen=True)
class ModuleDefinition:
    id: int
    api_name: str
    singular_label: str
    plural_label: str
    scope_name: str
    dup_check_field: str | None
    generated_type: str  # default | custom
    layout_id: int
    sequence: int
    created_time: datetime
    modified_time: datetime


@dataclass(frozen=True)
class FieldDefinition:
    id: int
    module_id: int
    api_name: str
    label: str
    data_type: str
    length: int | None
    mandatory: bool
    read_only: bool
    unique: bool
    custom: bool
    pick_list: tuple[str, ...]  # empty: not a picklist (stored as null)
    lookup_module: str | None
    textarea_type: str | None
    mass_update: bool | None
    # Lead conversion: sorted (target module, target field) pairs; empty is stored as null.
    convert_mapping: tuple[tuple[str, str], ...]
    sequence: int
    created_time: datetime
    modified_time: datetime


@dataclass(frozen=True)
class ViewDefinition:
    """A custom view row as the seed and new modules write it (system views)."""

    id: int
    module_id: int
    name: str
    system_name: str | None
    system_defined: bool
    is_default: bool
    criteria: str | None
    owner_id: int | None
    shared: bool
    created_time: datetime
    modified_time: datetime


def _module(row: Any) -> ModuleDefinition:
    return ModuleDefinition(
        id=row.id, api_name=row.api_name, singular_label=row.singular_label,
        plural_label=row.plural_label, scope_name=row.scope_name,
        dup_check_field=row.dup_check_field, generated_type=row.generated_type,
        layout_id=row.layout_id, sequence=row.sequence_number, created_time=row.created_time,
        modified_time=row.modified_time)


def _field(row: Any) -> FieldDefinition:
    return FieldDefinition(
        id=row.id, module_id=row.module_id, api_name=row.api_name, label=row.field_label,
        data_type=row.data_type, length=row.length, mandatory=row.system_mandatory,
        read_only=row.read_only, unique=row.is_unique, custom=row.custom_field,
        pick_list=tuple(row.pick_list or ()), lookup_module=row.lookup_module,
        textarea_type=row.textarea_type, mass_update=row.mass_update,
        convert_mapping=tuple(sorted((row.convert_mapping or {}).items())),
        sequence=row.sequence_number, created_time=row.created_time,
        modified_time=row.modified_time)


def _module_values(m: ModuleDefinition) -> dict[str, Any]:
    return {"id": m.id, "api_name": m.api_name, "singular_label": m.singular_label,
            "plural_label": m.plural_label, "scope_name": m.scope_name,
            "dup_check_field": m.dup_check_field, "generated_type": m.generated_type,
            "layout_id": m.layout_id, "sequence_number": m.sequence,
            "created_time": m.created_time, "modified_time": m.modified_time}


def _field_values(f: FieldDefinition) -> dict[str, Any]:
    return {"id": f.id, "module_id": f.module_id, "api_name": f.api_name,
            "field_label": f.label, "data_type": f.data_type, "length": f.length,
            "system_mandatory": f.mandatory, "read_only": f.read_only, "is_unique": f.unique,
            "custom_field": f.custom, "pick_list": list(f.pick_list) if f.pick_list else None,
            "lookup_module": f.lookup_module, "textarea_type": f.textarea_type,
            "mass_update": f.mass_update,
            "convert_mapping": dict(f.convert_mapping) if f.convert_mapping else None,
            "sequence_number": f.sequence, "created_time": f.created_time,
            "modified_time": f.modified_time}


def _view_values(v: ViewDefinition) -> dict[str, Any]:
    return {"id": v.id, "module_id": v.module_id, "name": v.name,
            "system_name": v.system_name, "system_defined": v.system_defined,
            "is_default": v.is_default, "criteria": v.criteria, "owner_id": v.owner_id,
            "shared": v.shared, "created_time": v.created_time,
            "modified_time": v.modified_time}


# Read on every request (the registry's cache check): built once.
_VERSION = sa.select(t.counters.c.value).where(t.counters.c.name == META_COUNTER)

class MetadataRepository:
    # --- version -----------------------------------------------------------------------------
    def version(self, tx: Tx) -> int:
        """The metadata version (0 before the seed created the counter)."""
        row = tx.execute(_VERSION).first()
        return int(row[0]) if row else 0

    def bump_version(self, tx: Tx) -> None:
        tx.execute(sa.update(t.counters).where(t.counters.c.name == META_COUNTER)
                   .values(value=t.counters.c.value + 1))

    def start_version(self, tx: Tx) -> None:
        """Create the version counter at 1 (first start)."""
        tx.execute(sa.insert(t.counters).values(name=META_COUNTER, value=1))

    # --- org ---------------------------------------------------------------------------------
    def org(self, tx: Tx) -> Org | None:
        row = tx.execute(sa.select(t.orgs)).first()
        if row is None:
            return None
        return Org(id=row.id, company_name=row.company_name, time_zone=row.time_zone,
                   currency=row.currency, created_time=row.created_time)

    def add_org(self, tx: Tx, org: Org) -> None:
        tx.execute(sa.insert(t.orgs).values(
            id=org.id, company_name=org.company_name, time_zone=org.time_zone,
            currency=org.currency, created_time=org.created_time))

    def has_org(self, tx: Tx) -> bool:
        return int(tx.execute(sa.select(sa.func.count()).select_from(t.orgs))
                   .scalar_one()) > 0

    # --- modules and fields ------------------------------------------------------------------
    def all_modules(self, tx: Tx) -> list[ModuleDefinition]:
        """Every module in sequence order."""
        return [_module(r) for r in tx.execute(
            sa.select(t.modules).order_by(t.modules.c.sequence_number))]

    def fields_by_module(self, tx: Tx) -> dict[int, list[FieldDefinition]]:
        """Fields of every module by module id, each list in sequence order (then id)."""
        out: dict[int, list[FieldDefinition]] = {}
        for r in tx.execute(sa.select(t.fields)
                            .order_by(t.fields.c.sequence_number, t.fields.c.id)):
            out.setdefault(r.module_id, []).append(_field(r))
        return out

    def last_module_sequence(self, tx: Tx) -> int:
        """The highest module sequence number (0 when there is no module)."""
        return int(tx.execute(sa.select(sa.func.max(t.modules.c.sequence_number)))
                   .scalar() or 0)

    def module_api_name_taken(self, tx: Tx, api_name: str) -> bool:
        """Whether a module already has this api_name, compared case-insensitively."""
        return tx.execute(sa.select(t.modules.c.id).where(
            sa.func.lower(t.modules.c.api_name) == api_name.lower())).first() is not None

    def field_exists(self, tx: Tx, module_id: int, api_name: str) -> bool:
        return tx.execute(sa.select(t.fields.c.id).where(
            t.fields.c.module_id == module_id,
            t.fields.c.api_name == api_name)).first() is not None

    def add_module(self, tx: Tx, module: ModuleDefinition, fields: Sequence[FieldDefinition],
                   views: Sequence[ViewDefinition]) -> None:
        self.add_modules(tx, [module], fields, views)

    def add_modules(self, tx: Tx, modules: Iterable[ModuleDefinition],
                    fields: Iterable[FieldDefinition], views: Iterable[ViewDefinition]) -> None:
        """Modules, then their fields, then their views (one executemany each)."""
        for table, rows in ((t.modules, [_module_values(m) for m in modules]),
                            (t.fields, [_field_values(f) for f in fields]),
                            (t.custom_views, [_view_values(v) for v in views])):
            if rows:
                tx.execute(sa.insert(table), rows)

    def add_field(self, tx: Tx, field: FieldDefinition) -> None:
        tx.execute(sa.insert(t.fields).values(_field_values(field)))

    def set_field_unique(self, tx: Tx, field_id: int, unique: bool, *,
                         modified_time: datetime) -> None:
        tx.execute(sa.update(t.fields).where(t.fields.c.id == field_id)
                   .values(is_unique=unique, modified_time=modified_time))


    def set_pick_lists(self, tx: Tx, field_ids: Iterable[int], values: Sequence[str], *,
                       modified_time: datetime) -> None:
        """The same pick list values for every given field (the multi-currency `Currency`)."""
        ids = list(field_ids)
        if ids:
            tx.execute(sa.update(t.fields).where(t.fields.c.id.in_(ids))
                       .values(pick_list=list(values), modified_time=modified_time))
