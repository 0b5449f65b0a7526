"""The only module that knows Zoho JSON shapes: errors, write results, pages, records, metadata."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from corral.errors import CorralError, MultipleOrMultiErrors
from corral.metadata.model import Field, Module
from corral.metadata.related_lists import contact_role_id
from corral.records.criteria import criteria_to_v8

# ----------------------------------------------------------------------------- errors


def error_body(err: CorralError) -> dict[str, Any]:
    details = err.details
    if isinstance(err, MultipleOrMultiErrors) and err.errors:
        details = {**details, "errors": [error_body(e) for e in err.errors]}
    return {"code": err.code, "details": details, "message": err.message, "status": "error"}


def success(message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """One SUCCESS entry, as every Zoho write answers per item."""
    return {"code": "SUCCESS", "details": details or {}, "message": message,
            "status": "success"}


def created(ref: Any, message: str) -> dict[str, Any]:
    """SUCCESS naming what was created (`details.id`)."""
    return success(message, {"id": str(ref)})


# Zoho wraps body errors in the request's array key (`{"data": [error]}`, v8 fields.json:
# `{"fields": [error]}`, tags.json's Action_Wrapper `{"tags": [error]}`, users.json
# `{"users": [error]}` ...); the duplicate check preference and the base currency wrap one
# object instead.
_LIST_WRAPS = frozenset({"data", "fields", "tags", "users", "roles", "profiles", "currencies",
                         "watch", "__composite_requests"})


def error_envelope(err: CorralError) -> dict[str, Any]:
    """The top-level error object, or wrapped: `{"data": [error]}` / `{key: error}`."""
    body = error_body(err)
    if err.wrap in _LIST_WRAPS:
        return {err.wrap: [body]}
    return {err.wrap: body} if err.wrap else body


# ----------------------------------------------------------------------------- time


def format_time(dt: datetime | None, tz: ZoneInfo) -> str | None:
    """`yyyy-MM-ddTHH:mm:ss±HH:mm` in the user's time zone; stored datetimes are naive UTC."""
    if dt is None:
        return None
    return _format_time(dt, tz)


@lru_cache(maxsize=4096)  # a batch renders the same few timestamps many times
def _format_time(dt: datetime, tz: ZoneInfo) -> str:
    aware = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt
    text = aware.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S%z")
    return text[:-2] + ":" + text[-2:]


def format_stored_datetime(value: str | None, tz: ZoneInfo) -> str | None:
    if value is None:
        return None
    return format_time(datetime.fromisoformat(value), tz)


# ----------------------------------------------------------------------------- users


def user_ref(user: Any, *, email: bool = True) -> dict[str, Any] | None:
    """`{name, id, email}` (GET) or `{name, id}` (write details)."""
    if user is None:
        return None
    out: dict[str, Any] = {"name": user.full_name, "id": str(user.id)}
    if email:
        out["email"] = user.email
    return out


# ----------------------------------------------------------------------------- write results


def write_details(rec: Any, users: dict[int, Any], tz: ZoneInfo) -> dict[str, Any]:
    return {
        "Modified_Time": format_time(rec.modified_time, tz),
        "Modified_By": user_ref(users.get(rec.modified_by), email=False),
        "Created_Time": format_time(rec.created_time, tz),
        "id": str(rec.id),
        "Created_By": user_ref(users.get(rec.created_by), email=False),
    }


_MESSAGES = {"insert": "record added", "update": "record updated", "delete": "record deleted"}


def write_result(outcome: Any, users: dict[int, Any], tz: ZoneInfo, *,
                 upsert: bool = False) -> dict[str, Any]:
    if outcome.error is not None:
        return error_body(outcome.error)
    if outcome.action == "delete":
        details: dict[str, Any] = {"id": str(outcome.record.id)}
    else:
        details = write_details(outcome.record, users, tz)
        if outcome.action == "insert" and not upsert:  # Zoho's upsert sample has no such key
            details["$approval_state"] = outcome.record.approval_state
    out: dict[str, Any] = {"code": "SUCCESS"}
    if upsert:
        out["duplicate_field"] = outcome.duplicate_field
        out["action"] = outcome.action
    out.update({"details": details, "message": _MESSAGES[outcome.action],
                "status": "success"})
    return out


def batch_status(outcomes: Sequence[Any], *, all_ok: int) -> int:
    """Decided by the issue where Zoho is silent: all ok → all_ok, mixed → 207, all failed → 400."""
    ok = sum(1 for o in outcomes if o.error is None)
    if ok == len(outcomes):
        return all_ok
    return 207 if ok else 400


# ----------------------------------------------------------------------------- records


def render_value(f: Field, value: Any, *, tz: ZoneInfo, users: dict[int, Any],
                 names: dict[int, str | None]) -> Any:
    if value is None:
        return [] if f.data_type == "multiselectpicklist" else None
    dt = f.data_type
    if dt == "datetime":
        return format_stored_datetime(value, tz)
    if dt == "bigint":
        return str(value)
    if dt == "lookup":
        rid = int(value)
        return {"name": names.get(rid), "id": str(rid)}
    if dt == "ownerlookup":
        return user_ref(users.get(int(value)))
    return value


# Keys Zoho's notes carry that Corral has no feature behind (no voice notes, no attachments on
# notes, no client portal): their "nothing here" values.
NOTE_EXTRAS: dict[str, Any] = {"$attachments": None, "$voice_note": False, "$size": None,
                               "$state": "save", "$is_shared_to_client": False,
                               "$sharing_permission": "full_access"}


def record_json(module: Module, rec: Any, *, tz: ZoneInfo, users: dict[int, Any],
                names: dict[int, str | None], only: Iterable[str] | None = None,
                tags: dict[int, Any] | None = None) -> dict[str, Any]:
    wanted = set(only) if only is not None else None
    out: dict[str, Any] = {}
    for f in module.fields:
        if wanted is not None and f.api_name not in wanted:
            continue
        if f.column == "owner_id":
            out[f.api_name] = user_ref(users.get(rec.owner_id))
        elif f.column in {"created_by", "modified_by"}:
            out[f.api_name] = user_ref(users.get(getattr(rec, f.column)))
        elif f.column in {"created_time", "modified_time"}:
            out[f.api_name] = format_time(getattr(rec, f.column), tz)
        else:
            out[f.api_name] = render_value(f, rec.data.get(f.api_name), tz=tz, users=users,
                                           names=names)
    out["id"] = str(rec.id)
    if tags is not None and (wanted is None or "Tag" in wanted):
        out["Tag"] = record_tags(rec.data.get("Tag"), tags)
    if "$se_module" in rec.data:
        out["$se_module"] = rec.data["$se_module"]
        parent = out.get("Parent_Id")
        if isinstance(parent, dict):  # a note's parent names its module (v8 shape)
            parent["module"] = {"api_name": rec.data["$se_module"]}
    if module.api_name == "Notes" and wanted is None:
        out.update(NOTE_EXTRAS)
    if wanted is None or "$approval_state" in wanted:
        out["$approved"] = rec.approval_state == "approved"
        out["$approval_state"] = rec.approval_state
        out["$editable"] = True
    if module.api_name == "Leads" and wanted is None:
        out["$converted"] = bool(rec.converted)
    return out


def record_tags(stored: Any, tags: dict[int, Any]) -> list[dict[str, Any]]:
    """A record's `Tag` value: its tags (stored as ids) with their current names and colours."""
    out: list[dict[str, Any]] = []
    for raw in stored if isinstance(stored, list) else []:
        tag = tags.get(int(raw)) if str(raw).isdigit() else None
        if tag is not None:
            out.append({"name": tag.name, "id": str(tag.id), "color_code": tag.color_code})
    return out


def tag_json(tag: Any, users: dict[int, Any], tz: ZoneInfo) -> dict[str, Any]:
    return {"created_time": format_time(tag.created_time, tz),
            "modified_time": format_time(tag.modified_time, tz),
            "modified_by": user_ref(users.get(tag.modified_by), email=False),
            "created_by": user_ref(users.get(tag.created_by), email=False),
            "name": tag.name, "id": str(tag.id), "color_code": tag.color_code}


def tag_details(tag: Any, users: dict[int, Any], tz: ZoneInfo) -> dict[str, Any]:
    """`details` of a tag's SUCCESS entry (OAS: Success_Response)."""
    body = tag_json(tag, users, tz)
    del body["name"]
    return body


def attachment_json(att: Any, module: Module, parent_name: str | None, users: dict[int, Any],
                    tz: ZoneInfo) -> dict[str, Any]:
    """One attachment as Zoho's v8 `Attachment` schema lists it."""
    link = att.link_url is not None
    return {
        "Owner": user_ref(users.get(att.owner_id)),
        "Modified_By": user_ref(users.get(att.modified_by)),
        "Created_By": user_ref(users.get(att.created_by)),
        "Parent_Id": {"name": parent_name, "id": str(att.record_id)},
        "$sharing_permission": "full_access",
        "$attachment_type": 3 if link else 1,
        "id": str(att.id),
        "Modified_Time": format_time(att.modified_time, tz),
        "Created_Time": format_time(att.created_time, tz),
        "File_Name": att.file_name,
        "Size": str(att.size),
        "$editable": True,
        "$file_id": "" if link else str(att.sha256),
        "$type": "Link URL" if link else "Attachment",
        "$se_module": module.api_name,
        "$state": "save",
        "$link_url": att.link_url,
    }


def page_info(*, version: str, per_page: int, count: int, page: int, more: bool,
              sort_by: str | None = None, sort_order: str | None = None,
              next_token: str | None = None, previous_token: str | None = None,
              token_expiry: str | None = None) -> dict[str, Any]:
    """v2/v2.1 carry four keys; v3+ add the token keys (facts §1.4)."""
    if version in {"v2", "v2.1"}:
        return {"per_page": per_page, "count": count, "page": page, "more_records": more}
    return {"call": False, "per_page": per_page, "next_page_token": next_token, "count": count,
            "sort_by": sort_by or "id", "page": page, "previous_page_token": previous_token,
            "page_token_expiry": token_expiry, "sort_order": sort_order or "desc",
            "email": False, "more_records": more}


def deleted_json(rec: Any, module: Module, *, tz: ZoneInfo, users: dict[int, Any],
                 display: str | None) -> dict[str, Any]:
    return {
        "deleted_by": user_ref(users.get(rec.deleted_by), email=False),
        "id": str(rec.id),
        "display_name": display,
        "type": "recycle",
        "created_by": user_ref(users.get(rec.created_by), email=False),
        "deleted_time": format_time(rec.deleted_time, tz),
    }


# ----------------------------------------------------------------------------- metadata
# Keys Zoho's v8 metadata carries on every field, module and layout although Corral has nothing
# to put in them (no privacy, HIPAA, encryption, tooltips, business cards): the values a
# standard org without those features shows in Zoho's documented samples (v7 field-meta,
# modules-api and layouts-meta pages). v2/v2.1 get the same keys: clients ignore extra ones.


def profile_refs(profiles: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"name": p.name, "id": str(p.id)} for p in profiles]


def _layout_ref(m: Module) -> dict[str, Any]:
    return {"api_name": "Standard", "name": "Standard", "id": str(m.layout_id)}


def _field_profiles(module: Module, f: Field, profiles: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"permission_type": ("read_only" if f.read_only
                                 or f.api_name in p.read_only_fields(module.api_name)
                                 else "read_write"),
             "name": p.name, "id": str(p.id)} for p in profiles]


# Lead conversion mapping: target module -> {Leads field -> field of the target module}.
ConvertMapping = Mapping[str, Mapping[str, str]]


def _convert_mapping(module: Module, f: Field, standard: ConvertMapping) -> dict[str, Any]:
    # Zoho names the Contacts, Deals and Accounts field a Lead field converts into (or null).
    if module.api_name != "Leads":
        return {}
    custom = dict(f.convert_mapping)
    return {target: custom.get(target) or standard.get(target, {}).get(f.api_name)
            for target in ("Contacts", "Deals", "Accounts")}


def field_json(module: Module, f: Field, *, version: str, profiles: Sequence[Any] = (),
               convert: ConvertMapping | None = None) -> dict[str, Any]:
    unique: dict[str, Any] = {}
    if f.unique:
        if version in {"v2", "v2.1"}:
            unique = {"casesensitive": "false" if f.case_insensitive else "true"}
        else:
            unique = {"case_sensitive": not f.case_insensitive}
    pick = [
        {"display_value": p, "sequence_number": i + 1, "reference_value": p,
         "colour_code": None, "actual_value": p, "id": _pick_id(f, i),
         "type": "used"}
        for i, p in enumerate(f.pick_list)
    ] if f.data_type in {"picklist", "multiselectpicklist"} else []
    lookup: dict[str, Any] = {}
    if f.data_type == "lookup" and f.lookup_module:
        # v2/v2.1 send the target module as a plain string (the v2 SDK reads `lookup.module` as
        # a String and fetches that module's fields); later versions send a minified module.
        target: Any = (f.lookup_module if version in {"v2", "v2.1"}
                       else {"api_name": f.lookup_module, "id": None})
        lookup = {"display_label": f.label, "api_name": f.api_name, "module": target,
                  "id": str(f.id)}
    if f.data_type == "ownerlookup":
        lookup = {}
    writable = not (f.read_only or f.system or f.column is not None)
    out: dict[str, Any] = {
        "api_name": f.api_name,
        "id": str(f.id),
        "field_label": f.label,
        "display_label": f.label,
        "data_type": f.data_type,
        "json_type": f.json_type,
        "length": f.max_length,
        "decimal_place": 2 if f.data_type in {"currency", "double", "decimal"} else None,
        "system_mandatory": f.mandatory,
        "read_only": f.read_only or f.system,
        "field_read_only": f.read_only or f.system,
        "custom_field": f.custom,
        "visible": True,
        "unique": unique,
        "mass_update": f.mass_update,
        "pick_list_values": pick,
        "pick_list_values_sorted_lexically": False,
        "lookup": lookup,
        "subform": None,
        "auto_number": {},
        "currency": {},
        "formula": {},
        "multiselectlookup": {},
        "multiuserlookup": {},
        "multi_module_lookup": {},
        "rollup_summary": {},
        "sortable": f.api_name in {"id", "Created_Time", "Modified_Time"} or f.column is None,
        "searchable": True,
        "filterable": True,
        "type": "used",
        "operation_type": {"web_update": not f.system, "api_create": not f.read_only,
                           "web_create": not f.read_only, "api_update": not f.read_only},
        "view_type": {"view": True, "edit": not f.read_only, "quick_create": f.mandatory,
                      "create": not f.read_only},
        "sequence_number": f.sequence,
        "convert_mapping": _convert_mapping(module, f, convert or {}),
        "crypt": None,
        "tooltip": None,
        "created_source": "custom" if f.custom else "default",
        "webhook": True,
        "history_tracking": None,
        "default_value": None,
        "quick_sequence_number": str(f.sequence),
        "ui_type": f.ui_type,
        "display_type": -1,  # -1: a normal field (2 would be "select only")
        "profiles": _field_profiles(module, f, profiles),
        "layout_associations": [_layout_ref(module)],
        # Corral keeps no per-field timestamps; Zoho's sample has null for standard fields too.
        "created_time": None,
        "modified_time": None,
        "external": None,
        "virtual_field": False,
        "association_details": None,
        "associated_module": None,
        "email_parser": {"fields_update_supported": writable,
                         "record_operations_supported": writable},
        "hipaa_compliance": None,
        "hipaa_compliance_enabled": False,
        "private": None,
        "businesscard_supported": False,
        "colour_code_enabled_by_system": False,
        "enable_colour_code": False,
        # Customisation happens in Zoho's UI, which Corral does not have.
        "customizable_properties": None,
        "display_field": f.api_name == module.display_field,
        "global_picklist": None,
        "separator": False,
    }
    if f.data_type == "picklist":  # blueprints run on picklists (Zoho's sample: picklists only)
        out["blueprint_supported"] = True
    # Zoho sends `textarea` on multi-line fields only; v2/v2.1 keep Corral's earlier null.
    if f.data_type == "textarea":
        out["textarea"] = {"type": f.textarea_type or "small"}
    elif version in {"v2", "v2.1"}:
        out["textarea"] = None
    return out


def _pick_id(f: Field, i: int) -> str:
    # Stable numeric ids for picklist values, derived from the field id (fits in 63 bits).
    return str(900_000_000_000_000_000 + (f.id % 10**14) * 1000 + i + 1)


def module_json(m: Module, *, detail: bool = False, version: str = "v2",
                profiles: Sequence[Any] = (), convert: ConvertMapping | None = None,
                ) -> dict[str, Any]:
    out: dict[str, Any] = {
        "api_name": m.api_name,
        "module_name": m.api_name,
        "id": str(m.id),
        "singular_label": m.singular_label,
        "plural_label": m.plural_label,
        "actual_singular_label": m.singular_label,
        "actual_plural_label": m.plural_label,
        "api_supported": True,
        "creatable": True,
        "editable": True,
        "deletable": True,
        "viewable": True,
        "convertable": m.api_name == "Leads",
        "quick_create": True,
        "generated_type": m.generated_type,
        "show_as_tab": True,
        "sequence_number": m.sequence,
        "visibility": 1,
        "visible": True,
        "status": "visible",
        "presence_sub_menu": False,
        "sub_menu_available": False,
        "modified_time": None,
        "modified_by": None,
        "profiles": profile_refs(profiles),
        "profile_count": len(profiles),
        "has_more_profiles": False,
        "private_profile": None,
        "access_type": "org_based",
        "description": None,
        "web_link": None,
        "arguments": [],
        "parent_module": {},
        "feeds_required": False,
        "recycle_bin_on_delete": True,
        "business_card_field_limit": 5,
        "duplicate_check_field": ({"api_name": m.dup_check_field} if m.dup_check_field
                                  else None),
    }
    if detail:
        out["fields"] = [field_json(m, f, version=version, profiles=profiles, convert=convert)
                         for f in m.fields]
        out["display_field"] = {"api_name": m.display_field}
    return out


# The Deals fields Zoho's Leads layout sample lists under convert_mapping.Deals.
_DEAL_CONVERT_FIELDS = ("Amount", "Deal_Name", "Closing_Date", "Stage")


def _layout_convert_mapping(m: Module, targets: Sequence[Module]) -> dict[str, Any]:
    if m.api_name != "Leads":
        return {}
    out: dict[str, Any] = {}
    for target in targets:
        ref: dict[str, Any] = {"name": "Standard", "id": str(target.layout_id)}
        if target.api_name == "Deals":
            ref["fields"] = [{"api_name": f.api_name, "field_label": f.label, "id": str(f.id),
                              "required": f.mandatory}
                             for name in _DEAL_CONVERT_FIELDS if (f := target.field(name))]
        out[target.api_name] = ref
    return out


def layout_json(m: Module, *, version: str, profiles: Sequence[Any] = (),
                convert_to: Sequence[Module] = (), convert: ConvertMapping | None = None,
                ) -> dict[str, Any]:
    layout = _layout_ref(m)
    view = {"name": layout["name"], "id": layout["id"], "type": "layout"}
    section_id = 910_000_000_000_000_000 + (m.layout_id % 10**14) * 10 + 1
    return {
        "id": str(m.layout_id),
        "name": "Standard",
        "api_name": "Standard",
        "display_label": "Standard",
        "status": "active",
        "visible": True,
        "generated_type": "default",
        "source": "crm",
        "created_time": None,
        "created_by": None,
        "created_for": None,
        "modified_time": None,
        "modified_by": None,
        "has_more_profiles": False,
        "show_business_card": False,
        "actions_allowed": {"edit": False, "rename": False, "clone": False, "downgrade": False,
                            "delete": False, "deactivate": False,
                            "set_layout_permissions": False},
        "profiles": [{"default": True, "name": p.name, "id": str(p.id), "_default_view": view,
                      "_default_assignment_view": view} for p in profiles],
        "convert_mapping": _layout_convert_mapping(m, convert_to),
        "sections": [{
            "display_label": f"{m.singular_label} Information",
            "api_name": f"{m.singular_label} Information",
            "name": f"{m.singular_label} Information",
            "id": str(section_id),
            "sequence_number": 1,
            "column_count": 2,
            "generated_type": "default",
            "type": "used",
            "isSubformSection": False,
            "tab_traversal": "left_to_right",
            "properties": None,
            "fields": [{**field_json(m, f, version=version, profiles=profiles, convert=convert),
                        "required": f.mandatory, "section_id": 1, "validation_rule": None}
                       for f in m.fields],
        }],
    }


_VIEW_TRANSLATION = {"public_views": "Public Views", "other_users_views": "Other Users' Views",
                     "shared_with_me": "Shared With Me", "created_by_me": "Created By Me"}


def custom_view_json(row: Any, *, tz: ZoneInfo, owner: Any = None) -> dict[str, Any]:
    """A view as the list shows it (Zoho's v7 custom-view-meta sample: 14 keys)."""
    return {
        "display_value": row.name,
        "created_time": format_time(row.created_time, tz),
        "system_name": row.system_name,
        "created_by": user_ref(owner, email=False) if owner else None,
        "default": row.is_default,
        "modified_time": format_time(row.modified_time, tz),
        "name": row.name,
        "system_defined": row.system_defined,
        "modified_by": user_ref(owner, email=False) if owner else None,
        "id": str(row.id),
        "category": "public_views" if row.shared else "created_by_me",
        "last_accessed_time": None,
        "locked": False,
        "favorite": None,
    }


def custom_views_info(views: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"per_page": 200, "default": next((v["id"] for v in views if v["default"]), None),
            "count": len(views), "translation": dict(_VIEW_TRANSLATION), "page": 1,
            "more_records": False}


def custom_views_page(views: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"custom_views": list(views), "info": custom_views_info(views)}


def _view_columns(module: Module) -> list[Field]:
    """The columns a view shows. Corral's views have no column set of their own: the record's
    name, the mandatory fields and the owner, as Zoho's system views start with."""
    names = [module.display_field, *(f.api_name for f in module.fields if f.mandatory),
             module.dup_check_field, "Owner"]
    seen: dict[str, Field] = {}
    for name in names:
        if name and name not in seen and (f := module.field(name)) is not None:
            seen[name] = f
    return list(seen.values())


def custom_view_detail(row: Any, module: Module, *, tz: ZoneInfo, owner: Any = None,
                       criteria: Any = None, version: str) -> dict[str, Any]:
    """One view (GET /settings/custom_views/{id}): the list keys plus what v8 documents for a
    single view: module, criteria, columns, sort, sharing."""
    view = custom_view_json(row, tz=tz, owner=owner)
    columns = _view_columns(module)
    view.update({
        "module": {"api_name": module.api_name, "name": module.plural_label,
                   "id": str(module.id)},
        "criteria": criteria,
        # v2/v2.1 list the columns by api_name; v3+ as minified fields.
        "fields": ([f.api_name for f in columns] if version in {"v2", "v2.1"}
                   else [{"api_name": f.api_name, "id": str(f.id), "_pin": False}
                         for f in columns]),
        "sort_by": None,
        "sort_order": None,
        "access_type": "public" if row.shared else "only_to_me",
        "shared_to": [],
        "offline": False,
    })
    return {"custom_views": [view], "info": custom_views_info([view])}


def _minified(user: Any) -> dict[str, Any] | None:
    return None if user is None else {"name": user.full_name, "id": str(user.id)}


def user_json(u: Any, *, tz: ZoneInfo, users: dict[int, Any],
              attribute_defaults: dict[str, Any]) -> dict[str, Any]:
    """A user as GET /users shows it (v8 keys); `users` names creators and modifiers."""
    out: dict[str, Any] = {
        "id": str(u.id),
        "first_name": u.first_name,
        "last_name": u.last_name,
        "full_name": u.full_name,
        "email": u.email,
        # A user who has not accepted the invitation has no ZUID yet (Zoho shows null).
        "zuid": u.zuid if u.confirmed else None,
        "role": {"name": u.role, "id": str(u.role_id)},
        "profile": {"name": u.profile_name, "id": str(u.profile_id)},
        "status": u.status,
        "confirm": u.confirmed,
        "time_zone": u.time_zone,
        "type__s": "Regular User",
        "created_time": format_time(u.created_time, tz),
        # The org's first user created itself (Zoho's get-users sample shows so); a user
        # who reports to no one has no `Reporting_To` key there either.
        "created_by": _minified(users.get(u.created_by or 0, u)),
        "Modified_Time": format_time(u.modified_time or u.created_time, tz),
        "Modified_By": _minified(users.get(u.modified_by or u.created_by or 0, u)),
        "Isonline": False,
        "microsoft": False,
        "personal_account": False,
        "sandboxDeveloper": False,
        "offset": _offset_ms(u.time_zone),
        "status_reason__s": None,
        "default_tab_group": "0",
        "$shift_effective_from": None,
        "$current_shift": None,
        "$next_shift": None,
        "customize_info": dict(_CUSTOMIZE_INFO),
        "theme": {"normal_tab": dict(_TAB), "selected_tab": dict(_TAB), "new_background": None,
                  "background": "#F3F0EB", "screen": "fixed", "type": "default"},
    }
    out.update({key: u.attributes.get(key, default)
                for key, default in attribute_defaults.items()})
    return out


# Display preferences Corral does not keep: Zoho's defaults.
_CUSTOMIZE_INFO = {"notes_desc": None, "show_right_panel": None, "bc_view": None,
                   "show_home": False, "show_detail_view": True, "show_left_panel": True,
                   "unpin_recent_item": None}
_TAB = {"font_color": "#FFFFFF", "background": "#222222"}


def _offset_ms(tz_name: str) -> int:
    """The time zone's offset from UTC now, in milliseconds (Zoho's `offset`)."""
    offset = datetime.now(ZoneInfo(tz_name)).utcoffset()
    return int(offset.total_seconds() * 1000) if offset is not None else 0


def users_page(users: Sequence[dict[str, Any]], *, page: int, per_page: int,
               more: bool) -> dict[str, Any]:
    return {"users": list(users), "info": {"per_page": per_page, "count": len(users),
                                           "page": page, "more_records": more}}


def org_json(row: Any, *, primary_email: str, tz: ZoneInfo,
             base_currency: Any = None) -> dict[str, Any]:
    """GET /org; `base_currency`: the home currency once multi-currency is enabled."""
    return {
        "id": str(row.id),
        "company_name": row.company_name,
        "time_zone": row.time_zone,
        "currency": row.currency,
        "currency_symbol": base_currency.symbol if base_currency is not None else "$",
        "iso_code": row.currency,
        "primary_email": primary_email,
        "domain_name": f"org{row.id}",
        "zgid": str(row.id % 10**9),
        "country_code": "US",
        "mc_status": base_currency is not None,
        "gapps_enabled": False,
        "privacy_settings": False,
        "zia_portal_id": None,
        "created_time": format_time(row.created_time, tz),
        "type": "production",
        "license_details": {"paid": True, "paid_type": "enterprise", "users_license_purchased": 100,
                            "trial_type": None, "trial_expiry": None, "paid_expiry": None},
    }


def role_json(role: Any, *, tz: ZoneInfo, roles: dict[int, Any],
              users: dict[int, Any]) -> dict[str, Any]:
    """A role (GET /settings/roles, v8 shape)."""
    superior = roles.get(role.reporting_to or 0)
    return {
        "display_label": role.name,
        "forecast_manager": _minified(users.get(role.forecast_manager or 0)),
        "share_with_peers": role.share_with_peers,
        "modified_by__s": _minified(users.get(role.modified_by or 0)),
        "description": role.description,
        "id": str(role.id),
        "reporting_to": (None if superior is None
                         else {"name": superior.name, "id": str(superior.id)}),
        "name": role.name,
        "modified_time__s": format_time(role.modified_time, tz),
        "created_by__s": _minified(users.get(role.created_by or 0)),
        "created_time__s": format_time(role.created_time, tz),
        # The top of the hierarchy is the administrator's role.
        "admin_user": role.reporting_to is None,
    }


def profile_json(profile: Any, *, tz: ZoneInfo, users: dict[int, Any],
                 permissions: Sequence[Any] | None = None) -> dict[str, Any]:
    """A profile; `permissions` (one profile only, as Zoho) adds `permissions_details` and
    the `sections` that group them by module."""
    out: dict[str, Any] = {
        "display_label": profile.name,
        "created_time": format_time(profile.created_time, tz),
        "modified_time": format_time(profile.modified_time, tz),
        "custom": profile.custom,
        "name": profile.name,
        "modified_by": _minified(users.get(profile.modified_by or 0)),
        "description": profile.description,
        "id": str(profile.id),
        "created_by": _minified(users.get(profile.created_by or 0)),
        "type": "normal_profile",
        "default": profile.name == "Standard",
        "category": False,
    }
    if permissions is not None:
        out["permissions_details"] = [
            {"display_label": p.action.title(), "module": p.module.api_name, "name": p.name,
             "id": str(p.id), "enabled": p.enabled} for p in permissions]
        by_module: dict[str, list[Any]] = {}
        for p in permissions:
            by_module.setdefault(p.module.api_name, []).append(p)
        out["sections"] = [{"name": "data_access", "categories": [
            {"display_label": ps[0].module.plural_label, "name": name, "module": name,
             "permissions_details": [str(p.id) for p in ps]}
            for name, ps in by_module.items()]}]
    return out


def currency_json(c: Any, *, tz: ZoneInfo, users: dict[int, Any]) -> dict[str, Any]:
    return {
        "symbol": c.symbol,
        "created_time": format_time(c.created_time, tz),
        "is_active": c.is_active,
        "exchange_rate": c.exchange_rate,
        "format": dict(c.format),
        "created_by": _minified(users.get(c.created_by)),
        "prefix_symbol": c.prefix_symbol,
        "is_base": c.is_base,
        "modified_time": format_time(c.modified_time, tz),
        "name": c.name,
        "modified_by": _minified(users.get(c.modified_by)),
        "id": str(c.id),
        "iso_code": c.iso_code,
    }


def oauth_token_json(values: dict[str, Any], api_domain: str) -> dict[str, Any]:
    out = {k: v for k, v in values.items() if v is not None}
    out["api_domain"] = api_domain
    return out


# ----------------------------------------------------------------------------- lead conversion


def conversion_json(converted: Any, names: dict[str, Module], *, version: str) -> dict[str, Any]:
    """v2/v2.1: ids as strings in the data item; later versions: the standard action shape."""

    def name(mod: str, rec: Any) -> str | None:
        return rec.data.get(names[mod].display_field) if rec is not None else None

    parts = {"Contacts": converted.contact, "Deals": converted.deal,
             "Accounts": converted.account}
    if version in {"v2", "v2.1"}:
        return {"data": [{k: (str(r.id) if r is not None else None) for k, r in parts.items()}]}
    details = {k: ({"name": name(k, r), "id": str(r.id)} if r is not None else None)
               for k, r in parts.items()}
    return {"data": [{"code": "SUCCESS", "details": details,
                      "message": "The record has been converted successfully",
                      "status": "success"}]}


# ----------------------------------------------------------------------------- dup-check preference

PREFERENCE_KEY = "duplicate_check_preference"


def preference_json(pref: Any, current: Module) -> dict[str, Any]:
    if pref.type != "mapped_module_records" or pref.mapped_module is None:
        return {PREFERENCE_KEY: {"type": pref.type, "type_configurations": None}}
    mapped = pref.mapped_module
    return {PREFERENCE_KEY: {"type": pref.type, "type_configurations": [{
        "field_mappings": [
            {"mapped_field": {"api_name": m.api_name, "name": mapped.api_name, "id": str(m.id)},
             "current_field": {"api_name": c.api_name, "name": current.api_name,
                               "id": str(c.id)}}
            for c, m in pref.mappings],
        "mapped_module": {"api_name": mapped.api_name, "name": mapped.plural_label,
                          "id": str(mapped.id)},
    }]}}


def preference_result(message: str) -> dict[str, Any]:
    return {PREFERENCE_KEY: {"code": "SUCCESS", "details": {}, "message": message,
                             "status": "success"}}


# ----------------------------------------------------------------------------- territories


def territory_json(row: Any, rows: list[Any], *, users: dict[int, Any],
                   tz: ZoneInfo) -> dict[str, Any]:
    by_id = {r.id: r for r in rows}
    parent = by_id.get(row.parent_id) if row.parent_id else None
    return {
        "created_time": format_time(row.created_time, tz),
        "permission_type": "read_write_delete",
        "modified_time": format_time(row.modified_time, tz),
        "manager": user_ref(users.get(row.manager_id), email=False),
        "api_name": row.api_name,
        "name": row.name,
        "modified_by": user_ref(users.get(row.created_by), email=False),
        "description": row.description,
        "id": str(row.id),
        "reporting_to": {"name": parent.name, "id": str(parent.id)} if parent else None,
        "created_by": user_ref(users.get(row.created_by), email=False),
    }


# ----------------------------------------------------------------------------- blueprints

def blueprint_json(module: Module, rec: Any, bp: Any) -> dict[str, Any]:
    f = module.by_name[bp.field]
    value = rec.data.get(bp.field)
    return {"blueprint": {
        "process_info": {"field_id": str(f.id), "is_continuous": False, "api_name": f.api_name,
                         "continuous": False, "field_label": f.label, "name": bp.name,
                         "column_name": f.api_name.upper(), "field_value": value,
                         "id": str(bp.id), "field_name": f.label},
        "transitions": [{"next_transitions": [], "percent_partial_save": 0, "data": {},
                         "next_field_value": tr.to_state, "name": tr.name,
                         "criteria_matched": True, "id": tr.id, "fields": [],
                         "criteria_message": None, "type": "transition_button",
                         "execution_time": None} for tr in bp.available(value)],
    }}


def blueprint_definition_json(module: Module, bp: Any) -> dict[str, Any]:
    return {"id": str(bp.id), "name": bp.name,
            "field": {"api_name": bp.field, "id": str(bp.field_id)},
            "states": list(bp.states),
            "transitions": [{"id": tr.id, "name": tr.name, "from": tr.from_state,
                             "to": tr.to_state} for tr in bp.transitions],
            "criteria": criteria_to_v8(bp.criteria) if bp.criteria else None}


# ----------------------------------------------------------------------------- automation


def rule_json(module: Module, rule: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": str(rule.id), "name": rule.name,
                           "module": {"api_name": module.api_name, "id": str(module.id)},
                           "criteria": criteria_to_v8(rule.criteria) if rule.criteria else None}
    if rule.kind == "layout_rule":
        out["mandatory"] = list(rule.mandatory)
        return out
    out["when"] = rule.when
    if rule.field:
        out["field"] = rule.field
    if rule.kind == "approval":
        out["approvers"] = [{"id": str(a)} for a in rule.approvers]
        return out
    out["actions"] = [{k: (list(v) if isinstance(v, tuple) else v)
                       for k, v in a.__dict__.items() if v not in (None, ())}
                      for a in rule.actions]
    return out


def delivery_json(row: Any, *, tz: ZoneInfo) -> dict[str, Any]:
    return {"id": str(row.id), "rule": {"id": str(row.rule_id)},
            "record": {"id": str(row.record_id), "module": {"id": str(row.module_id)}},
            "url": row.url, "status": row.status, "attempts": row.attempts,
            "last_status_code": row.last_status_code, "last_error": row.last_error,
            "created_time": format_time(row.created_time, tz),
            "delivered_time": format_time(row.delivered_time, tz), "payload": row.payload,
            "channel_id": row.channel_key,
            "attempt_history": [attempt_json(a, tz) for a in row.history]}


# ----------------------------------------------------------------------------- related lists


def related_list_json(parent: Module, rl: Any, sequence: int, related: Module | None, *,
                      version: str) -> dict[str, Any]:
    """One related list of `parent` as GET /settings/related_lists shows it: `module` is the
    api_name in v2/v2.1 (the v2 SDK reads it so), `{api_name, id}` from v3 on (v8's OAS).

    Lists are served newest first (by creation), shown with the related module's view columns;
    `connectedmodule` and `linkingmodule` appear only on many-to-many lists, as in Zoho's
    samples (related_lists.json types them as strings and does not require them)."""
    module: Any = rl.module
    if version not in {"v2", "v2.1"}:
        module = {"api_name": rl.module, "id": str(related.id) if related else None}
    created = related.field("Created_Time") if related is not None else None
    out = {
        "id": rl.id_for(parent.api_name), "sequence_number": str(sequence),
        "display_label": rl.display_label, "api_name": rl.api_name, "module": module,
        "name": rl.name or rl.api_name, "action": None,
        "href": f"{parent.api_name}/{{ENTITYID}}/{rl.api_name}", "type": "default",
        "visible": True, "customize_sort": False,
        "customize_fields": False, "customize_display_label": False,
        "sort_by": {"api_name": "Created_Time",
                    "id": str(created.id) if created is not None else None},
        "sort_order": "desc",
        "fields": ([{"api_name": f.api_name, "id": str(f.id)} for f in _view_columns(related)]
                   if related is not None else []),
        "status": "visible",
    }
    if rl.linkingmodule:
        out["connectedmodule"] = rl.module
        out["linkingmodule"] = rl.linkingmodule
    return out


def contact_role_json(name: str | None) -> dict[str, Any] | None:
    """A Deal's contact role as Zoho shows it on a contact of its Contact_Roles list."""
    return None if name is None else {"name": name, "id": contact_role_id(name)}


def activity_json(row: dict[str, Any], module: Module) -> dict[str, Any]:
    """A Task, Event or Call in an Open/Closed Activities list: its record plus
    `Activity_Type`, the module it belongs to."""
    return {**row, "Activity_Type": module.api_name}


def relation_result(linked: Any, *, removed: bool) -> dict[str, Any]:
    """One entry of a link ("relation added") or unlink ("relation removed") answer."""
    if linked.error is not None:
        return error_body(linked.error)
    return success("relation removed" if removed else "relation added",
                   {"id": linked.related_id})


# ----------------------------------------------------------------------------- COQL


def coql_page(page: Any, tz: ZoneInfo) -> dict[str, Any]:
    """`{"data": [...], "info": {"count", "more_records"}}`: one object per row, keyed by the
    path, alias or aggregate as the query wrote it; lookups and users as `{"id"}`."""
    data = [{c.key: coql_value(c, value, tz) for c, value in zip(page.columns, row, strict=True)}
            for row in page.rows]
    return {"data": data, "info": {"count": len(data), "more_records": page.more}}


def coql_value(column: Any, value: Any, tz: ZoneInfo) -> Any:
    """A COQL value in Zoho's shape for its field (`column.field`, None for ids and user
    attributes); COUNT is an integer, AVG a number."""
    f: Field | None = column.field
    agg = column.aggregate
    if agg == "count":
        return int(value or 0)
    if value is None:
        return None
    if f is None:
        return str(value) if isinstance(value, int) else value
    if agg == "avg":
        return float(value)
    dt = f.data_type
    if dt == "datetime":
        return format_time(value, tz) if isinstance(value, datetime) else \
            format_stored_datetime(str(value), tz)
    if dt in {"lookup", "ownerlookup"} or f.column in {"owner_id", "created_by", "modified_by"}:
        return {"id": str(value)}
    if dt == "integer":
        return int(value)
    if dt in {"double", "currency", "percent", "decimal"}:
        return float(value)
    if dt == "bigint":
        return str(value)
    if dt == "boolean":
        return bool(value)
    if dt == "multiselectpicklist":
        return orjson.loads(value) if isinstance(value, str) else value
    return value
# ----------------------------------------------------------------------------- notifications
def watch_events(channels: list[Any], modules: dict[int, Any], tz: ZoneInfo,
                 ) -> list[dict[str, Any]]:
    """`details.events` of an /actions/watch success: one entry per channel and module."""
    return [{"channel_expiry": format_time(c.channel_expiry, tz),
             "resource_uri": c.resource_uri, "resource_id": str(c.module_id),
             "resource_name": modules[c.module_id].api_name, "channel_id": c.channel_id}
            for c in channels if c.module_id in modules]


def watch_json(c: Any, module: Any, tz: ZoneInfo) -> dict[str, Any]:
    """One channel of one module as GET /actions/watch lists it."""
    return {"notify_on_related_action": c.notify_on_related_action,
            "channel_expiry": format_time(c.channel_expiry, tz),
            "resource_uri": c.resource_uri, "resource_id": str(c.module_id),
            "notify_url": c.notify_url, "resource_name": module.api_name,
            "fields": {module.api_name: list(c.fields)} if c.fields is not None else None,
            "channel_id": c.channel_id,
            "events": [f"{module.api_name}.{e}" for e in c.events], "token": c.token,
            "return_affected_field_values": c.return_affected_field_values,
            "notification_condition": c.condition}


def attempt_json(a: Any, tz: ZoneInfo) -> dict[str, Any]:
    return {"attempt": a.attempt, "attempted_time": format_time(a.attempted_time, tz),
            "status_code": a.status_code, "error": a.error}


# ----------------------------------------------------------------------------- composite
def composite_response(status_code: int, headers: dict[str, str], body: Any,
                       ) -> dict[str, Any]:
    """One executed sub-request: its own status, headers and body under `details.response`."""
    return success("success", {"response": {"status_code": status_code, "headers": headers,
                                            "body": body}})
# ----------------------------------------------------------------------------- timeline
# Where a write came from, as the timeline's `source` (Zoho: crm_api, crm_ui, workflow ...).
TIMELINE_SOURCES = {"api": "crm_api"}
INNER_DETAILS = frozenset({"field_history.data_type", "field_history.enable_colour_code",
                           "field_history.field_label", "field_history.pick_list_values"})


def _history_value(value: Any) -> Any:
    """Field history values are text in Zoho's answer; lists and objects as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return orjson.dumps(value).decode()


def _field_history(module: Module, change: Any, inner: frozenset[str]) -> dict[str, Any]:
    f = module.by_name.get(change.api_name)
    # timelines.json types these as strings without `nullable`: an empty side is left out.
    value = {k: _history_value(x) for k, x in (("new", change.new), ("old", change.old))
             if x is not None}
    out: dict[str, Any] = {"api_name": change.api_name, "_value": value}
    if f is not None:
        out["id"] = str(f.id)
    if "field_history.field_label" in inner:
        out["field_label"] = f.label if f else change.api_name
    if "field_history.data_type" in inner:
        out["data_type"] = f.data_type if f else None
    if "field_history.enable_colour_code" in inner:
        out["enable_colour_code"] = False
    if "field_history.pick_list_values" in inner:
        out["pick_list_values"] = [{"display_value": p, "actual_value": p, "id": None,
                                    "sequence_number": i + 1, "colour_code": None,
                                    "type": "used"}
                                   for i, p in enumerate(getattr(f, "pick_list", None) or [])]
    return out


def timeline_json(module: Module, page: Any, users: dict[int, Any], tz: ZoneInfo,
                  inner: frozenset[str], *, include: frozenset[str] = frozenset(),
                  tokens: dict[str, str | None] | None = None) -> dict[str, Any]:
    """`{"__timeline": [...], "info": {...}}` for one page of a record's events."""
    rec = page.record
    record = {"name": str(rec.data.get(module.display_field) or ""), "id": str(rec.id),
              "module": {"api_name": module.api_name, "id": str(module.id)}}
    out = []
    for ev in page.events:
        user = users.get(ev.user_id)
        automation = None
        if ev.automation:
            kind, _sep, rule_id = ev.automation.partition(":")
            automation = {"type": f"{kind}_rule" if kind == "workflow" else kind,
                          "rule": {"name": page.rule_names.get(ev.automation, rule_id),
                                   "id": rule_id}}
        item = {
            "audited_time": format_time(ev.at, tz), "action": ev.action, "id": str(ev.id),
            "source": TIMELINE_SOURCES.get(ev.source, ev.source),
            "done_by": {"name": user.full_name if user else str(ev.user_id),
                        "id": str(ev.user_id)},
            "automation_details": automation, "record": record,
            "related_record": {"name": ev.related.name, "id": str(ev.related.id),
                               "module": {k: v for k, v in (
                                   ("name", ev.related.module),
                                   ("id", str(ev.related.module_id)
                                    if ev.related.module_id else None)) if v}}
            if ev.related else None,
            "field_history": [_field_history(module, c, inner) for c in ev.changes] or None,
            # Corral's own: which API call (X-Request-Id) or job made the write.
            "request_id": ev.request_id,
            "job_id": str(ev.job_id) if ev.job_id is not None else None,
            # Every Corral event is an audit entry of the record's own data (Zoho: `type`
            # tells audit from signals); no extension writes records, so `extension` is absent.
            "type": "audit" if "type" in include else None}
        # timelines.json has no `nullable`: what a write has not is left out, not null.
        out.append({k: val for k, val in item.items() if val is not None})
    info = {"per_page": page.per_page, "page": page.page, "count": len(out),
            "more_records": page.more}
    info.update({k: v for k, v in (tokens or {}).items() if v is not None})
    return {"__timeline": out, "info": info}


# ----------------------------------------------------------------------------- merge
def merge_status_json(found: Any) -> dict[str, Any]:
    """Get Record Merge: Zoho's documented `job_id` and `status`, with what find_and_merge.json
    requires of a `merge` item: `data` (each record merged in, with the fields taken from it)
    and `master_record_fields` (file and image fields kept: none, Corral ignores them)."""
    return {"merge": [{
        "job_id": str(found.job_id), "status": found.status,
        "data": [{"id": str(c), "_fields": [{"api_name": f} for f in fields]}
                 for c, fields in found.children],
        "master_record_fields": []}]}


# ----------------------------------------------------------------------------- find duplicates
def duplicate_sets_json(sets: Sequence[Any], *, page: int, per_page: int) -> dict[str, Any]:
    """Corral's own `find_duplicates` answer: one page of duplicate sets, best first."""
    start = (page - 1) * per_page
    shown = sets[start:start + per_page]
    return {"data": [{"records": [str(rid) for rid in s.records], "score": s.score,
                      "reasons": [{"field": r.field, "kind": r.kind, "score": r.score}
                                  for r in s.reasons]} for s in shown],
            "info": {"per_page": per_page, "page": page, "count": len(shown),
                     "more_records": len(sets) > start + per_page}}
