"""First-start seed: the org, profiles, the admin user, standard modules, fields and views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from corral.metadata.seed_data import STANDARD_MODULES
from corral.metadata.text_index import sync_text_indexes
from corral.storage.database import Database
from corral.storage.repositories.auth import NewUser, Profile
from corral.storage.repositories.metadata import (
    FieldDefinition,
    ModuleDefinition,
    Org,
    ViewDefinition,
)
from corral.storage.repositories.roles import Role
from corral.storage.repositories.seed import Seed, SeedWriter

ADMIN_EMAIL = "admin@corral.local"
# A new Zoho org's role hierarchy: the CEO, and a Manager reporting to the CEO.
TOP_ROLE = "CEO"
DEFAULT_ROLE = "Manager"

# Fields every module has; they live in record columns (see metadata.model.COLUMN_FIELDS).
COMMON_FIELDS: list[dict[str, Any]] = [
    {"api_name": "Owner", "label": "Owner", "type": "ownerlookup"},
    {"api_name": "Created_By", "label": "Created By", "type": "ownerlookup", "read_only": True},
    {"api_name": "Modified_By", "label": "Modified By", "type": "ownerlookup", "read_only": True},
    {"api_name": "Created_Time", "label": "Created Time", "type": "datetime", "read_only": True},
    {"api_name": "Modified_Time", "label": "Modified Time", "type": "datetime",
     "read_only": True},
]

HEAD_IDS = 5  # module, layout, "All", "Converted" and "My" views

ALL_MODULE_PERMISSIONS = ["view", "create", "edit", "delete"]


def field_definition(spec: dict[str, Any], *, field_id: int, module_id: int, sequence: int,
                     custom: bool, now: datetime) -> FieldDefinition:
    mapping = spec.get("convert_mapping") or {}
    return FieldDefinition(
        id=field_id, module_id=module_id, api_name=spec["api_name"], label=spec["label"],
        data_type=spec["type"], length=spec.get("length"),
        mandatory=bool(spec.get("mandatory", False)),
        read_only=bool(spec.get("read_only", False)), unique=bool(spec.get("unique", False)),
        custom=custom, pick_list=tuple(spec.get("pick_list") or ()),
        lookup_module=spec.get("lookup"), textarea_type=spec.get("textarea"),
        mass_update=spec.get("mass_update"), convert_mapping=tuple(sorted(mapping.items())),
        sequence=sequence, created_time=now, modified_time=now)


def _system_view(view_id: int, module_id: int, name: str, system_name: str, *,
                 is_default: bool, now: datetime) -> ViewDefinition:
    return ViewDefinition(id=view_id, module_id=module_id, name=name, system_name=system_name,
                          system_defined=True, is_default=is_default, criteria=None,
                          owner_id=None, shared=True, created_time=now, modified_time=now)


def module_definitions(spec: dict[str, Any], ids: list[int], *, sequence: int,
                       generated_type: str, now: datetime,
                       ) -> tuple[ModuleDefinition, list[FieldDefinition], list[ViewDefinition]]:
    """One module: the module, its fields (common ones first) and its system views.

    `ids` must hold at least HEAD_IDS + number of fields ids.
    """
    module_id, layout_id, view_id, converted_view_id, my_view_id = ids[:HEAD_IDS]
    module = ModuleDefinition(
        id=module_id, api_name=spec["api_name"], singular_label=spec["singular"],
        plural_label=spec["plural"], scope_name=spec["scope"],
        dup_check_field=spec.get("dup_check"), generated_type=generated_type,
        layout_id=layout_id, sequence=sequence, created_time=now, modified_time=now)
    custom = generated_type == "custom"
    all_specs = [*COMMON_FIELDS, *spec["fields"]]
    fields = [
        field_definition(f, field_id=ids[HEAD_IDS + i], module_id=module_id, sequence=i + 1,
                         custom=custom and f not in COMMON_FIELDS and f["api_name"] != "Name",
                         now=now)
        for i, f in enumerate(all_specs)
    ]
    views = [
        _system_view(view_id, module_id, f"All {spec['plural']}", "ALLVIEWS",
                     is_default=True, now=now),
        _system_view(my_view_id, module_id, f"My {spec['plural']}", "MYVIEWS",
                     is_default=False, now=now),
    ]
    if spec["api_name"] == "Leads":
        views.append(_system_view(converted_view_id, module_id, "Converted Leads",
                                  "CONVERTEDVIEWS", is_default=False, now=now))
    return module, fields, views


def _profile_permissions(*, admin: bool) -> dict[str, Any]:
    return {"admin": admin, "modules": {"*": ALL_MODULE_PERMISSIONS}, "read_only_fields": {}}


def seed(db: Database, now: datetime, *, time_zone: str = "UTC") -> int | None:
    """Seed an empty database; returns the admin user id, or None when already seeded."""
    writer = SeedWriter()
    with db.read() as tx:
        if writer.is_seeded(tx):
            seeded = True
            missing = [m for m in STANDARD_MODULES if not writer.has_module(tx, m["api_name"])]
        else:
            seeded, missing = False, []
    if seeded:
        if missing:
            add_standard_modules(db, now, writer)
        return None
    n_ids = 10 + sum(HEAD_IDS + len(COMMON_FIELDS) + len(m["fields"]) for m in STANDARD_MODULES)
    ids = db.new_ids(n_ids)
    org_id, admin_profile, std_profile, admin_id, ceo_role, manager_role = ids[:6]
    pos = 10
    module_list: list[ModuleDefinition] = []
    field_list: list[FieldDefinition] = []
    view_list: list[ViewDefinition] = []
    for seq, spec in enumerate(STANDARD_MODULES, start=1):
        need = HEAD_IDS + len(COMMON_FIELDS) + len(spec["fields"])
        m, fs, vs = module_definitions(spec, ids[pos:pos + need], sequence=seq,
                                       generated_type=spec.get("generated_type", "default"),
                                       now=now)
        pos += need
        module_list.append(m)
        field_list.extend(fs)
        view_list.extend(vs)
    data = Seed(
        org=Org(id=org_id, company_name="Corral", time_zone=time_zone, currency="USD",
                created_time=now),
        profiles=[Profile(id=admin_profile, name="Administrator",
                          permissions=_profile_permissions(admin=True)),
                  Profile(id=std_profile, name="Standard",
                          permissions=_profile_permissions(admin=False))],
        roles=[Role(id=ceo_role, name=TOP_ROLE, share_with_peers=True),
               Role(id=manager_role, name=DEFAULT_ROLE, reporting_to=ceo_role,
                    share_with_peers=True)],
        admin=NewUser(id=admin_id, zuid=str(admin_id % 10**9), email=ADMIN_EMAIL,
                      first_name="Corral", last_name="Admin", profile_id=admin_profile,
                      role_id=ceo_role, time_zone=time_zone, status="active",
                      created_time=now),
        modules=module_list, fields=field_list, views=view_list)
    with db.write() as tx:
        db.lock_global(tx)
        if writer.is_seeded(tx):  # another process won the race
            return None
        writer.write(tx, data)
        sync_text_indexes(tx)
    return admin_id


def add_standard_modules(db: Database, now: datetime, writer: SeedWriter) -> list[str]:
    """Standard modules a newer Corral knows (e.g. Notes) added to an already seeded database,
    after its last module; a module whose api_name is taken (a custom one) is left alone.
    Returns the api_names added."""
    with db.write() as tx:
        db.lock_global(tx)
        missing = [m for m in STANDARD_MODULES if not writer.has_module(tx, m["api_name"])]
        if not missing:
            return []
        ids = db.reserve_in(tx, sum(HEAD_IDS + len(COMMON_FIELDS) + len(m["fields"])
                                    for m in missing))
        sequence, pos = writer.last_module_sequence(tx), 0
        modules: list[ModuleDefinition] = []
        fields: list[FieldDefinition] = []
        views: list[ViewDefinition] = []
        for spec in missing:
            need = HEAD_IDS + len(COMMON_FIELDS) + len(spec["fields"])
            sequence += 1
            m, fs, vs = module_definitions(spec, ids[pos:pos + need], sequence=sequence,
                                           generated_type=spec.get("generated_type",
                                                                   "default"), now=now)
            pos += need
            modules.append(m)
            fields.extend(fs)
            views.extend(vs)
        writer.add_modules(tx, modules, fields, views)
        sync_text_indexes(tx, [m.id for m in modules])
    return [m["api_name"] for m in missing]
