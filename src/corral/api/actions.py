"""Lead conversion and the Duplicate Check Preference API."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import Response

from corral import envelopes
from corral.api.http import Call, json_response, wrapped_errors
from corral.api.records import authorise, context, path_record_id, resolve_module, results
from corral.api.settings import require_admin, settings_module
from corral.errors import InvalidData, MandatoryNotFound, NoPermission, NotSupported
from corral.metadata.model import Module
from corral.records.validate import parse_record_id
from corral.records.writes import WriteContext


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
    module, principal = settings_module(call, "duplicate_check_preference", op)
    if module.api_name != "Leads":
        raise NotSupported("This API does not support the specified module",
                           {"param_name": "module"})
    if op != "READ" and not principal.is_admin:
        raise NoPermission("the user doesn't have permission for that module.")
    return module


# Zoho's v8 spec wraps the preference API's body and state errors under this key.
PREFERENCE = "duplicate_check_preference"


def get_preference(call: Call) -> Response:
    module = _pref_module(call, "READ")
    pref = call.corral.preferences.get(module)
    if pref is None:
        return json_response(None, 204)
    return json_response(envelopes.preference_json(pref, module))


def create_preference(call: Call) -> Response:
    module = _pref_module(call, "CREATE")
    body = call.json()
    with wrapped_errors(PREFERENCE):
        kind = call.corral.preferences.create(module, body)
    return json_response(envelopes.preference_result(
        f"Duplicate check enabled for {kind} successfully."))


def update_preference(call: Call) -> Response:
    module = _pref_module(call, "UPDATE")
    body = call.json()
    with wrapped_errors(PREFERENCE):
        call.corral.preferences.update(module, body)
    return json_response(envelopes.preference_result("Field mapping updated successfully."))


def delete_preference(call: Call) -> Response:
    module = _pref_module(call, "DELETE")
    with wrapped_errors(PREFERENCE):
        kind = call.corral.preferences.delete(module)
    return json_response(envelopes.preference_result(
        f"Duplicate check disabled for {kind} successfully."))


# ----------------------------------------------------------------------------- mass update
def _mass_scope(call: Call, module: Module, op: str) -> None:
    principal = call.authenticate()
    names = sorted({module.scope_name, module.api_name.lower()})
    principal.require_scope(*[f"ZohoCRM.mass_update.{n}.{op}" for n in names])


def mass_update(call: Call) -> Response:
    module = resolve_module(call)
    _mass_scope(call, module, "UPDATE")
    principal = call.authenticate()
    principal.require_module_permission(module.api_name, "edit", "permission denied")
    body = call.json()
    if not isinstance(body, dict):
        raise MandatoryNotFound(details={"api_name": "data", "json_path": "$.data"})
    service = call.corral.mass_update
    has_ids, has_cvid = body.get("ids") is not None, body.get("cvid") is not None
    if not has_ids and not has_cvid:
        err = MandatoryNotFound(details={"api_name": "cvid", "json_path": "$.cvid"})
        err.wrap = "data"
        raise err
    ctx = context(call, principal, body)
    with wrapped_errors("data"):  # mass update's body errors, as in Zoho's Kaizen #57 samples
        spec = service.prepare(module, body, principal)
        if has_ids:
            # Instant mass updates always run automation (facts §5).
            outcomes = service.update_ids(module, body["ids"], spec,
                                          replace(ctx, trigger=None))
            return results(call, outcomes, all_ok=200)
        job_id = service.schedule(module, body["cvid"], body.get("territory"), spec, ctx)
    return json_response({"data": [envelopes.success("mass update scheduled successfully",
                                                     {"job_id": str(job_id)})]})


def mass_update_status(call: Call) -> Response:
    module = resolve_module(call)
    _mass_scope(call, module, "READ")
    job_id = call.query.get("job_id")
    if not job_id:
        raise MandatoryNotFound("mandatory param missing", {"param_name": "job_id"})
    return json_response({"data": [call.corral.mass_update.status(module, job_id)]})


# ----------------------------------------------------------------------------- custom views
def create_view(call: Call) -> Response:
    module, principal = settings_module(call, "custom_views", "CREATE")
    body = call.json()
    items = body.get("custom_views") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise MandatoryNotFound(details={"api_name": "custom_views", "json_path": "$.custom_views"})
    view_id = call.corral.views.create(module, items[0], principal)
    return json_response({"custom_views": [envelopes.created(
        view_id, "custom view created successfully")]}, 201)


# ----------------------------------------------------------------------------- territories
def list_territories(call: Call) -> Response:
    principal = call.authenticate()
    principal.require_scope("ZohoCRM.settings.territories.READ")
    rows = call.corral.territories.list()
    users = call.corral.query.users()
    tz = call.corral.query.principal_tz(principal)
    data = [envelopes.territory_json(r, rows, users=users, tz=tz) for r in rows]
    if not data:
        return json_response(None, 204)
    return json_response({"territories": data, "info": {"per_page": 2000, "count": len(data),
                                                        "page": 1, "more_records": False}})


def create_territories(call: Call) -> Response:
    principal = call.authenticate()
    principal.require_scope("ZohoCRM.settings.territories.CREATE")
    require_admin(principal)
    body = call.json()
    items = body.get("territories") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise MandatoryNotFound(details={"api_name": "territories", "json_path": "$.territories"})
    out = []
    for i, item in enumerate(items):
        tid = call.corral.territories.create(item, principal, index=i)
        out.append(envelopes.created(tid, "territory created"))
    return json_response({"territories": out}, 201)


def assign_territories(call: Call) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "UPDATE", "edit", "Permission denied to update")
    body = call.json()
    items = body.get("data") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise MandatoryNotFound(details={"api_name": "data", "json_path": "$.data"})
    results_ = call.corral.territories.assign(module, items, principal)
    data = [envelopes.created(rid, "the territories data updated successfully")
            if err is None else envelopes.error_body(err) for rid, err in results_]
    ok = sum(1 for _rid, err in results_ if err is None)
    return json_response({"data": data}, 200 if ok == len(results_) else (207 if ok else 400))


# ----------------------------------------------------------------------------- blueprints
def list_blueprints(call: Call) -> Response:
    module, _principal = settings_module(call, "blueprint", "READ")
    bps = call.corral.blueprints.list(module)
    if not bps:
        return json_response(None, 204)
    return json_response({"blueprints": [envelopes.blueprint_definition_json(module, bp)
                                         for bp in bps]})


def create_blueprint(call: Call) -> Response:
    module, principal = settings_module(call, "blueprint", "CREATE")
    require_admin(principal)
    body = call.json()
    items = body.get("blueprints") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise MandatoryNotFound(details={"api_name": "blueprints", "json_path": "$.blueprints"})
    bp_id = call.corral.blueprints.create(module, items[0], principal)
    return json_response({"blueprints": [envelopes.created(bp_id, "blueprint created")]}, 201)


def get_record_blueprint(call: Call) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "READ", "view", "Permission denied to read records")
    rec, bp = call.corral.blueprints.state(module, path_record_id(call),
                                           ZoneInfo(principal.user.time_zone))
    if bp is None:
        return json_response(None, 204)
    return json_response(envelopes.blueprint_json(module, rec, bp))


def update_record_blueprint(call: Call) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "UPDATE", "edit", "Permission denied to update")
    body = call.json()
    outcome = call.corral.blueprints.transition(module, path_record_id(call), body,
                                                context(call, principal, body if isinstance(
                                                    body, dict) else {}))
    if outcome.error is not None:
        raise outcome.error
    return json_response(envelopes.success("transition updated successfully"))


# ----------------------------------------------------------------------------- automation
RULE_KINDS = {"workflow_rules": "workflow", "approval_processes": "approval",
              "layout_rules": "layout_rule"}
RULE_MESSAGES = {"workflow": "workflow rule created successfully",
                 "approval": "approval process created successfully",
                 "layout_rule": "layout rule created successfully"}


def rule_handlers(key: str) -> dict[str, Any]:
    """GET/POST handlers for /settings/automation/{key} (workflow_rules, ...)."""
    return {"GET": lambda call: list_rules(call, key), "POST": lambda call: create_rule(call, key)}


def list_rules(call: Call, key: str) -> Response:
    module, _principal = settings_module(call, key, "READ")
    kind = RULE_KINDS[key]
    rules = call.corral.automation.rules(module, kind)
    if not rules:
        return json_response(None, 204)
    return json_response({key: [envelopes.rule_json(module, r) for r in rules]})


def create_rule(call: Call, key: str) -> Response:
    module, principal = settings_module(call, key, "CREATE")
    require_admin(principal)
    body = call.json()
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise MandatoryNotFound(details={"api_name": key, "json_path": f"$.{key}"})
    kind = RULE_KINDS[key]
    out = []
    for i, item in enumerate(items):
        rid = call.corral.automation.create_rule(module, kind, item, principal, f"$.{key}[{i}]")
        out.append(envelopes.created(rid, RULE_MESSAGES[kind]))
    return json_response({key: out}, 201)


def approve_record(call: Call) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "UPDATE", "edit", "Permission denied to update")
    body = call.json()
    outcome = call.corral.automation.decide(module, path_record_id(call), body,
                                            WriteContext(principal, call.request_id))
    return results(call, [outcome], all_ok=200)


DELIVERY_STATUSES = ("pending", "delivered", "failed")


def webhook_deliveries(call: Call) -> Response:
    """Outbox rows with each attempt; `?channel_id=` lists a notification channel's callbacks
    (readable with a notifications scope too)."""
    principal = call.authenticate()
    channel = call.query.get("channel_id")
    if channel and not (channel.isdigit() and len(channel) <= 19):
        raise InvalidData(details={"param_name": "channel_id"})
    if channel:
        principal.require_scope("ZohoCRM.settings.workflow_rules.READ",
                                 "ZohoCRM.notifications.READ")
    else:
        principal.require_scope("ZohoCRM.settings.workflow_rules.READ")
    rule = call.query.get("rule_id")
    status = call.query.get("status")
    if status is not None and status not in DELIVERY_STATUSES:
        raise InvalidData(details={"param_name": "status",
                                   "supported_values": list(DELIVERY_STATUSES)})
    rows = call.corral.webhooks.deliveries(
        rule_id=parse_record_id(rule) if rule else None, status=status,
        channel_keys=[channel] if channel else None)
    if not rows:
        return json_response(None, 204)
    tz = call.corral.query.principal_tz(principal)
    return json_response({"webhook_deliveries": [envelopes.delivery_json(r, tz=tz)
                                                 for r in rows]})
