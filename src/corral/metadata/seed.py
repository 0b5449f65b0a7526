"""First-start seed: the org, profiles, the admin user, standard modules, fields and views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from corral.metadata.seed_data import STANDARD_MODULES
from corral.storage import tables as t
from corral.storage.database import Database

ADMIN_EMAIL = "admin@corral.local"

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


def is_seeded(conn: Connection) -> bool:
    return conn.execute(sa.select(sa.func.count()).select_from(t.orgs)).scalar_one() > 0


def field_row(spec: dict[str, Any], *, field_id: int, module_id: int, sequence: int,
              custom: bool, now: datetime) -> dict[str, Any]:
    return {
        "id": field_id, "module_id": module_id, "api_name": spec["api_name"],
        "field_label": spec["label"], "data_type": spec["type"], "length": spec.get("length"),
        "system_mandatory": bool(spec.get("mandatory", False)),
        "read_only": bool(spec.get("read_only", False)),
        "is_unique": bool(spec.get("unique", False)), "custom_field": custom,
        "pick_list": list(spec["pick_list"]) if spec.get("pick_list") else None,
        "lookup_module": spec.get("lookup"), "textarea_type": spec.get("textarea"),
        "mass_update": spec.get("mass_update"), "sequence_number": sequence,
        "convert_mapping": spec.get("convert_mapping"),
        "created_time": now, "modified_time": now,
    }


def module_rows(spec: dict[str, Any], ids: list[int], *, sequence: int, generated_type: str,
                now: datetime) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows for one module: the module, its fields (common ones first) and its system views.

    `ids` must hold at least HEAD_IDS + number of fields ids.
    """
    module_id, layout_id, view_id, converted_view_id, my_view_id = ids[:HEAD_IDS]
    module = {
        "id": module_id, "api_name": spec["api_name"], "singular_label": spec["singular"],
        "plural_label": spec["plural"], "scope_name": spec["scope"],
        "dup_check_field": spec.get("dup_check"), "generated_type": generated_type,
        "layout_id": layout_id, "sequence_number": sequence, "created_time": now,
        "modified_time": now,
    }
    custom = generated_type == "custom"
    all_specs = [*COMMON_FIELDS, *spec["fields"]]
    field_rows = [
        field_row(f, field_id=ids[HEAD_IDS + i], module_id=module_id, sequence=i + 1,
                  custom=custom and f not in COMMON_FIELDS and f["api_name"] != "Name", now=now)
        for i, f in enumerate(all_specs)
    ]
    views = [{
        "id": view_id, "module_id": module_id, "name": f"All {spec['plural']}",
        "system_name": "ALLVIEWS", "system_defined": True, "is_default": True, "criteria": None,
        "owner_id": None, "shared": True, "created_time": now, "modified_time": now,
    }]
    views.append({
        "id": my_view_id, "module_id": module_id, "name": f"My {spec['plural']}",
        "system_name": "MYVIEWS", "system_defined": True, "is_default": False,
        "criteria": None, "owner_id": None, "shared": True, "created_time": now,
        "modified_time": now,
    })
    if spec["api_name"] == "Leads":
        views.append({
            "id": converted_view_id, "module_id": module_id, "name": "Converted Leads",
            "system_name": "CONVERTEDVIEWS", "system_defined": True, "is_default": False,
            "criteria": None, "owner_id": None, "shared": True, "created_time": now,
            "modified_time": now,
        })
    return module, field_rows, views


def seed(db: Database, now: datetime, *, time_zone: str = "UTC") -> int | None:
    """Seed an empty database; returns the admin user id, or None when already seeded."""
    with db.read() as conn:
        if is_seeded(conn):
            return None
    n_ids = 10 + sum(HEAD_IDS + len(COMMON_FIELDS) + len(m["fields"]) for m in STANDARD_MODULES)
    ids = db.new_ids(n_ids)
    org_id, admin_profile, std_profile, admin_id = ids[:4]
    pos = 10
    module_list, field_list, view_list = [], [], []
    for seq, spec in enumerate(STANDARD_MODULES, start=1):
        need = HEAD_IDS + len(COMMON_FIELDS) + len(spec["fields"])
        m, fs, vs = module_rows(spec, ids[pos:pos + need], sequence=seq,
                                generated_type="default", now=now)
        pos += need
        module_list.append(m)
        field_list.extend(fs)
        view_list.extend(vs)
    with db.write() as conn:
        db.lock_global(conn)
        if is_seeded(conn):  # another process won the race
            return None
        conn.execute(sa.insert(t.orgs).values(
            id=org_id, company_name="Corral", time_zone=time_zone, currency="USD",
            created_time=now))
        conn.execute(sa.insert(t.profiles), [
            {"id": admin_profile, "name": "Administrator",
             "permissions": {"admin": True, "modules": {"*": ALL_MODULE_PERMISSIONS},
                             "read_only_fields": {}}},
            {"id": std_profile, "name": "Standard",
             "permissions": {"admin": False, "modules": {"*": ALL_MODULE_PERMISSIONS},
                             "read_only_fields": {}}},
        ])
        conn.execute(sa.insert(t.users).values(
            id=admin_id, zuid=str(admin_id % 10**9), email=ADMIN_EMAIL, first_name="Corral",
            last_name="Admin", profile_id=admin_profile, role="CEO", time_zone=time_zone,
            status="active", created_time=now))
        conn.execute(sa.insert(t.modules), module_list)
        conn.execute(sa.insert(t.fields), field_list)
        conn.execute(sa.insert(t.custom_views), view_list)
        conn.execute(sa.insert(t.counters).values(name="meta", value=1))
    return admin_id
