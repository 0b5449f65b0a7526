"""Lead conversion and the Duplicate Check Preference API."""

from __future__ import annotations

from starlette.responses import Response

from corral import envelopes
from corral.api.http import Call, json_response
from corral.api.records import authorise, path_record_id, resolve_module
from corral.errors import InvalidModule, MandatoryNotFound, NotSupported, RequiredParamMissing
from corral.metadata.model import Module
from corral.records.service import WriteContext


def convert_lead(call: Call) -> Response:
    module = resolve_module(call)
    if module.api_name != "Leads":
        raise NotSupported("lead conversion is supported only for Leads",
                           {"resource_path_index": 0})
    principal = authorise(call, module, "CREATE", "edit", "Permission denied to create")
    principal.require_module_permission("Contacts", "create", "Permission denied to create")
    lead_id = path_record_id(call)
    body = call.json()
    items = body.get("data") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise MandatoryNotFound(details={"api_name": "data", "json_path": "$.data"})
    converted = call.corral.conversion.convert(
        lead_id, items[0], WriteContext(principal, call.request_id))
    reg = call.corral.registry
    names = {m: reg.require(m) for m in ("Contacts", "Accounts", "Deals")}
    return json_response(envelopes.conversion_json(converted, names, version=call.version))


def _pref_module(call: Call, op: str) -> Module:
    principal = call.authenticate()
    principal.require_scope(f"ZohoCRM.settings.duplicate_check_preference.{op}")
    name = call.query.get("module")
    if not name:
        raise RequiredParamMissing(details={"param_name": "module"})
    call.corral.registry.refresh()
    module = call.corral.registry.get(name)
    if module is None:
        raise InvalidModule(details={"param_name": "module"})
    if module.api_name != "Leads":
        raise NotSupported("This API does not support the specified module",
                           {"param_name": "module"})
    if op != "READ" and not principal.is_admin:
        from corral.errors import NoPermission

        raise NoPermission("the user doesn't have permission for that module.")
    return module


def get_preference(call: Call) -> Response:
    module = _pref_module(call, "READ")
    pref = call.corral.preferences.get(module)
    if pref is None:
        return json_response(None, 204)
    return json_response(envelopes.preference_json(pref, module))


def create_preference(call: Call) -> Response:
    module = _pref_module(call, "CREATE")
    kind = call.corral.preferences.create(module, call.json())
    return json_response(envelopes.preference_result(
        f"Duplicate check enabled for {kind} successfully."))


def update_preference(call: Call) -> Response:
    module = _pref_module(call, "UPDATE")
    call.corral.preferences.update(module, call.json())
    return json_response(envelopes.preference_result("Field mapping updated successfully."))


def delete_preference(call: Call) -> Response:
    module = _pref_module(call, "DELETE")
    kind = call.corral.preferences.delete(module)
    return json_response(envelopes.preference_result(
        f"Duplicate check disabled for {kind} successfully."))
