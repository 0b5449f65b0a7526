"""Metadata API handlers: modules, fields, layouts, custom views."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from starlette.responses import Response

from corral import envelopes
from corral.api.http import Call, json_response
from corral.auth.service import Principal
from corral.errors import (
    CorralError,
    InvalidData,
    InvalidModule,
    MandatoryNotFound,
    NoPermission,
    RequiredParamMissing,
)
from corral.metadata.model import Module
from corral.records.conversion import STANDARD_MAPPING
from corral.records.validate import parse_record_id


def _settings_principal(call: Call, area: str, op: str = "READ") -> Principal:
    principal = call.authenticate()
    principal.require_scope(f"ZohoCRM.settings.{area}.{op}")
    return principal


def settings_module(call: Call, area: str, op: str) -> tuple[Module, Principal]:
    """Authenticate, require `ZohoCRM.settings.{area}.{op}`, resolve `?module=`."""
    principal = _settings_principal(call, area, op)
    return module_param(call), principal


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise NoPermission("permission denied")


def _admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise NoPermission("permission denied")


def module_param(call: Call) -> Module:
    """The `module` query parameter of settings APIs, resolved."""
    name = call.query.get("module")
    if not name:
        raise RequiredParamMissing(details={"param_name": "module"})
    call.corral.registry.refresh()
    module = call.corral.registry.get(name)
    if module is None:
        raise InvalidModule(details={"param_name": "module"})
    return module


# ----------------------------------------------------------------------------- modules
def list_modules(call: Call) -> Response:
    _settings_principal(call, "modules")
    call.corral.registry.refresh()
    profiles = call.corral.auth.profiles()
    return json_response({"modules": [envelopes.module_json(m, profiles=profiles)
                                      for m in call.corral.registry.modules()]})


def get_module(call: Call) -> Response:
    _settings_principal(call, "modules")
    call.corral.registry.refresh()
    module = call.corral.registry.get(call.path_params["api_name"])
    if module is None:
        raise InvalidModule(details={"resource_path_index": 2})
    return json_response({"modules": [envelopes.module_json(
        module, detail=True, version=call.version, profiles=call.corral.auth.profiles(),
        convert=STANDARD_MAPPING)]})


def create_module(call: Call) -> Response:
    principal = _settings_principal(call, "modules", "CREATE")
    _admin(principal)
    body = call.json()
    items = body.get("modules") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise MandatoryNotFound(details={"api_name": "modules", "json_path": "$.modules"})
    spec = items[0]
    singular = spec.get("singular_label")
    plural = spec.get("plural_label")
    api_name = spec.get("api_name") or (plural.replace(" ", "_") if isinstance(plural, str)
                                        else None)
    for key, value in (("singular_label", singular), ("plural_label", plural)):
        if not value:
            raise MandatoryNotFound(details={"api_name": key, "json_path": f"$.modules[0].{key}"})
    module = call.corral.metadata.add_module(api_name, singular, plural)
    return json_response({"modules": [{"code": "SUCCESS", "details": {"id": str(module.id)},
                                       "message": "module created", "status": "success"}]},
                         201)


# ----------------------------------------------------------------------------- fields
def list_fields(call: Call) -> Response:
    _settings_principal(call, "fields")
    module = module_param(call)
    profiles = call.corral.auth.profiles()
    return json_response({"fields": [envelopes.field_json(module, f, version=call.version,
                                                          profiles=profiles,
                                                          convert=STANDARD_MAPPING)
                                     for f in module.fields]})


def _field_by_id(call: Call, module: Module) -> Any:
    fid = parse_record_id(call.path_params["field_id"])
    for f in module.fields:
        if f.id == fid:
            return f
    raise InvalidData("the id given seems to be invalid", {"resource_path_index": 2})


def get_field(call: Call) -> Response:
    _settings_principal(call, "fields")
    module = module_param(call)
    f = _field_by_id(call, module)
    return json_response({"fields": [envelopes.field_json(
        module, f, version=call.version, profiles=call.corral.auth.profiles(),
        convert=STANDARD_MAPPING)]})


def _unique_flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, dict):
        return True
    raise InvalidData(details={"api_name": "unique", "json_path": "$.fields[0].unique"})


@contextmanager
def _body_errors() -> Iterator[None]:
    """Errors about the body come back as Zoho's v8 fields.json shows them: `{"fields": [e]}`.

    Request-level errors (token, scope, module parameter, URL id, unparsable JSON) are raised
    before this and stay top-level, as on every Zoho API.
    """
    try:
        yield
    except CorralError as err:
        err.wrap = err.wrap or "fields"
        raise


def _first_field(body: Any) -> dict[str, Any]:
    items = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise MandatoryNotFound(details={"api_name": "fields", "json_path": "$.fields"})
    return items[0]


def create_field(call: Call) -> Response:
    principal = _settings_principal(call, "fields", "CREATE")
    _admin(principal)
    module = module_param(call)
    body = call.json()
    with _body_errors():
        f = _add_field(call, module, _first_field(body))
    return json_response({"fields": [{"code": "SUCCESS", "details": {"id": str(f.id)},
                                      "message": "field created", "status": "success"}]}, 201)


def _add_field(call: Call, module: Module, spec_in: dict[str, Any]) -> Any:
    for key in ("field_label", "data_type"):
        if not spec_in.get(key):
            raise MandatoryNotFound(details={"api_name": key, "json_path": f"$.fields[0].{key}"})
    values = spec_in.get("pick_list_values") or []
    if not isinstance(values, list):
        raise InvalidData(details={"api_name": "pick_list_values",
                                   "json_path": "$.fields[0].pick_list_values"})
    lookup = spec_in.get("lookup") or {}
    # `lookup.module` is a minified module ({"api_name": ...}); v2 clients send the plain name.
    target = lookup.get("module") if isinstance(lookup, dict) else None
    spec = {
        "api_name": spec_in.get("api_name"), "label": spec_in["field_label"],
        "type": spec_in["data_type"], "length": spec_in.get("length"),
        "unique": _unique_flag(spec_in["unique"]) if spec_in.get("unique") else False,
        "pick_list": [p.get("display_value") if isinstance(p, dict) else p
                      for p in values],
        "lookup": target.get("api_name") if isinstance(target, dict) else target,
    }
    f = call.corral.metadata.add_field(module, spec)
    if spec["unique"] and not f.unique:
        f = call.corral.metadata.set_unique(call.corral.registry.require(module.api_name),
                                            f.api_name, True)
    return f


def update_field(call: Call) -> Response:
    principal = _settings_principal(call, "fields", "UPDATE")
    _admin(principal)
    module = module_param(call)
    f = _field_by_id(call, module)
    body = call.json()
    with _body_errors():
        change = _first_field(body)
        if "unique" in change:
            call.corral.metadata.set_unique(module, f.api_name, _unique_flag(change["unique"]))
    return json_response({"fields": [{"code": "SUCCESS", "details": {"id": str(f.id)},
                                      "message": "field updated", "status": "success"}]})


# ----------------------------------------------------------------------------- layouts, views
def list_layouts(call: Call) -> Response:
    _settings_principal(call, "layouts")
    module = module_param(call)
    reg = call.corral.registry
    targets = [m for name in ("Contacts", "Deals", "Accounts") if (m := reg.get(name))]
    return json_response({"layouts": [envelopes.layout_json(
        module, version=call.version, profiles=call.corral.auth.profiles(),
        convert_to=targets, convert=STANDARD_MAPPING)]})


def list_views(call: Call) -> Response:
    principal = _settings_principal(call, "custom_views")
    module = module_param(call)
    q = call.corral.query
    tz = q.principal_tz(principal)
    users = q.users()
    rows = [r for r in q.views(module)
            if r.shared or r.owner_id in (None, principal.user.id)]
    views = [envelopes.custom_view_json(r, tz=tz, owner=users.get(r.owner_id or 0))
             for r in rows]
    return json_response(envelopes.custom_views_page(views))


def get_view(call: Call) -> Response:
    principal = _settings_principal(call, "custom_views")
    module = module_param(call)
    q = call.corral.query
    vid = parse_record_id(call.path_params["view_id"])
    row = q.view(module, vid) if vid else None
    if row is None:
        raise InvalidData("the id given seems to be invalid", {"resource_path_index": 2})
    if not row.shared and row.owner_id not in (None, principal.user.id):
        raise NoPermission("Customview not accessible")
    return json_response(envelopes.custom_view_detail(
        row, module, tz=q.principal_tz(principal), owner=q.users().get(row.owner_id or 0),
        criteria=orjson.loads(row.criteria) if row.criteria else None, version=call.version))


