"""Org administration handlers: users, roles, profiles, the org and its currencies."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from corral import envelopes
from corral.api.http import Call, json_response, wrapped_errors
from corral.auth.service import Principal
from corral.errors import CorralError, InvalidData, MandatoryNotFound
from corral.metadata.users import ATTRIBUTE_DEFAULTS, USER_TYPES, parse_id, primary_contact

MAX_PER_PAGE = 200
MAX_IDS = 100


def _principal(call: Call, scope: str) -> Principal:
    principal = call.authenticate()
    principal.require_scope(scope)
    return principal


def _int_param(call: Call, name: str, default: int) -> int:
    raw = call.query.get(name) or ""
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise InvalidData(details={"param_name": name})
    return int(raw)


def _parse(call: Call) -> None:
    """Parse the body before anything is wrapped: malformed JSON is a top-level error."""
    call.json()


def _one(call: Call, key: str) -> Any:
    """The single object of `{key: [object]}` (Zoho changes one user or role per request)."""
    body = call.json()
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise MandatoryNotFound(details={"api_name": key, "json_path": f"$.{key}"})
    if len(items) > 1:
        raise InvalidData(details={"api_name": key, "json_path": f"$.{key}",
                                   "maximum_length": 1})
    return items[0]


def _many(call: Call, key: str, limit: int = 100) -> list[Any]:
    body = call.json()
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise MandatoryNotFound(details={"api_name": key, "json_path": f"$.{key}"})
    if len(items) > limit:
        raise InvalidData(details={"api_name": key, "json_path": f"$.{key}",
                                   "maximum_length": limit})
    return items


def _results(key: str, outcomes: list[int | CorralError], message: str,
             status: int = 200) -> Response:
    """Per-item results under `key`; HTTP 400 when every item failed."""
    entries = [envelopes.error_body(o) if isinstance(o, CorralError)
               else envelopes.created(o, message) for o in outcomes]
    failed = all(isinstance(o, CorralError) for o in outcomes)
    return json_response({key: entries}, 400 if failed else status)


# ----------------------------------------------------------------------------- users
def _users_json(call: Call, users: list[Any], principal: Principal) -> list[dict[str, Any]]:
    everyone = call.corral.query.users()
    tz = call.corral.query.principal_tz(principal)
    return [envelopes.user_json(u, tz=tz, users=everyone,
                                attribute_defaults=ATTRIBUTE_DEFAULTS) for u in users]


def list_users(call: Call) -> Response:
    """GET /users?type=&ids=&page=&per_page=; 204 when none is left."""
    principal = _principal(call, "ZohoCRM.users.READ")
    kind = call.query.get("type") or "AllUsers"
    if kind not in USER_TYPES:
        raise InvalidData(details={"param_name": "type", "supported_values": list(USER_TYPES)})
    users = call.corral.users.list(kind, principal)
    if call.query.get("ids"):
        wanted = [parse_id(x) for x in call.query["ids"].split(",")]
        if None in wanted or len(wanted) > MAX_IDS:
            raise InvalidData(details={"param_name": "ids"})
        users = [u for u in users if u.id in wanted]
    page = _int_param(call, "page", 1)
    per_page = min(_int_param(call, "per_page", MAX_PER_PAGE), MAX_PER_PAGE)
    shown = users[(page - 1) * per_page:page * per_page]
    if not shown:
        return json_response(None, 204)
    return json_response(envelopes.users_page(
        _users_json(call, shown, principal), page=page, per_page=per_page,
        more=len(users) > page * per_page))


def count_users(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.users.READ")
    kind = call.query.get("type") or "AllUsers"
    if kind not in USER_TYPES:
        raise InvalidData(details={"param_name": "type", "supported_values": list(USER_TYPES)})
    return json_response({"count": len(call.corral.users.list(kind, principal))})


def get_user(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.users.READ")
    uid = parse_id(call.path_params["user_id"])
    user = call.corral.query.users().get(uid or 0)
    if user is None:
        raise InvalidData("the id given seems to be invalid", {"resource_path_index": 1})
    return json_response(envelopes.users_page(_users_json(call, [user], principal), page=1,
                                              per_page=MAX_PER_PAGE, more=False))


def create_user(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.users.CREATE")
    _parse(call)
    with wrapped_errors("users"):
        user_id = call.corral.users.create(_one(call, "users"), principal)
    return json_response({"users": [envelopes.created(user_id, "User added")]}, 201)


def update_user(call: Call) -> Response:
    """PUT /users/{id} and PUT /users (the id in the body)."""
    principal = _principal(call, "ZohoCRM.users.UPDATE")
    path_id = call.path_params.get("user_id")
    if path_id is not None and parse_id(path_id) is None:
        raise InvalidData("the id given seems to be invalid", {"resource_path_index": 1})
    _parse(call)
    with wrapped_errors("users"):
        user_id = call.corral.users.update(parse_id(path_id), _one(call, "users"), principal)
    return json_response({"users": [envelopes.created(user_id, "User updated")]})


def delete_user(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.users.DELETE")
    call.corral.users.delete(parse_id(call.path_params["user_id"]), principal)
    return json_response({"users": [envelopes.success("User deleted")]})


# ----------------------------------------------------------------------------- org
def get_org(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.org.READ")
    org = call.corral.metadata.org()
    primary = primary_contact(call.corral.users.users())
    base = (call.corral.currencies.list()[0] if call.corral.currencies.enabled() else None)
    return json_response({"org": [envelopes.org_json(
        org, primary_email=primary.email if primary else "", base_currency=base,
        tz=call.corral.query.principal_tz(principal))]})


# ----------------------------------------------------------------------------- roles
def _roles_page(call: Call, roles: list[Any], principal: Principal) -> Response:
    every = {r.id: r for r in call.corral.roles.list()}
    tz = call.corral.query.principal_tz(principal)
    users = call.corral.query.users()
    return json_response({"roles": [envelopes.role_json(r, tz=tz, roles=every, users=users)
                                    for r in roles]})


def list_roles(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.settings.roles.READ")
    return _roles_page(call, call.corral.roles.list(), principal)


def get_role(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.settings.roles.READ")
    role = call.corral.roles.get(parse_id(call.path_params["role_id"]))
    if role is None:
        raise InvalidData("the id given seems to be invalid", {"resource_path_index": 2})
    return _roles_page(call, [role], principal)


def create_role(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.settings.roles.CREATE")
    _parse(call)
    with wrapped_errors("roles"):
        role_id = call.corral.roles.create(_one(call, "roles"), principal)
    return json_response({"roles": [envelopes.created(role_id, "Role added")]}, 201)


def update_role(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.settings.roles.UPDATE")
    path_id = call.path_params.get("role_id")
    if path_id is not None and parse_id(path_id) is None:
        raise InvalidData("the given role id seems invalid", {"resource_path_index": 2})
    _parse(call)
    with wrapped_errors("roles"):
        role_id = call.corral.roles.update(parse_id(path_id), _one(call, "roles"), principal)
    return json_response({"roles": [envelopes.created(role_id, "Role updated")]})


def delete_role(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.settings.roles.DELETE")
    role_id = parse_id(call.path_params["role_id"])
    call.corral.roles.delete(role_id, call.query.get("transfer_to_id"), principal)
    return json_response({"roles": [envelopes.created(role_id, "Role Deleted")]})


# ----------------------------------------------------------------------------- profiles
def _profiles_json(call: Call, profiles: list[Any], principal: Principal, *,
                   detail: bool) -> list[dict[str, Any]]:
    tz = call.corral.query.principal_tz(principal)
    users = call.corral.query.users()
    svc = call.corral.profiles
    return [envelopes.profile_json(p, tz=tz, users=users,
                                   permissions=svc.permissions(p) if detail else None)
            for p in profiles]


def list_profiles(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.settings.profiles.READ")
    return json_response({"profiles": _profiles_json(call, call.corral.profiles.list(),
                                                     principal, detail=False)})


def get_profile(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.settings.profiles.READ")
    profile = call.corral.profiles.get(parse_id(call.path_params["profile_id"]))
    if profile is None:
        raise InvalidData("the id given seems to be invalid or already deleted",
                          {"resource_path_index": 2})
    return json_response({"profiles": _profiles_json(call, [profile], principal,
                                                     detail=True)})


def clone_profile(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.settings.profiles.CREATE")
    _parse(call)
    with wrapped_errors("profiles"):
        profile_id = call.corral.profiles.clone(parse_id(call.path_params["profile_id"]),
                                                _one(call, "profiles"), principal)
    return json_response({"profiles": [envelopes.created(
        profile_id, "profile created successfully")]}, 201)


def update_profile(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.settings.profiles.UPDATE")
    _parse(call)
    with wrapped_errors("profiles"):
        profile_id = call.corral.profiles.update(parse_id(call.path_params["profile_id"]),
                                                 _one(call, "profiles"), principal)
    return json_response({"profiles": [envelopes.created(
        profile_id, "profile updated successfully")]})


def delete_profile(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.settings.profiles.DELETE")
    profile_id = call.corral.profiles.delete(parse_id(call.path_params["profile_id"]),
                                             call.query.get("transfer_to"), principal)
    return json_response(envelopes.created(profile_id, "Profile deleted"))


# ----------------------------------------------------------------------------- currencies
# Zoho's currency scopes are ZohoCRM.settings.currencies.* (ZohoCRM.settings.ALL covers them).
def _currencies_page(call: Call, currencies: list[Any], principal: Principal) -> Response:
    tz = call.corral.query.principal_tz(principal)
    users = call.corral.query.users()
    return json_response({"currencies": [envelopes.currency_json(c, tz=tz, users=users)
                                         for c in currencies]})


def list_currencies(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.settings.currencies.READ")
    return _currencies_page(call, call.corral.currencies.list(), principal)


def get_currency(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.settings.currencies.READ")
    found = call.corral.currencies.get(parse_id(call.path_params["currency_id"]))
    return _currencies_page(call, [found], principal)


def add_currencies(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.settings.currencies.CREATE")
    _parse(call)
    with wrapped_errors("currencies"):
        items = _many(call, "currencies")
    outcomes = call.corral.currencies.add(items, principal)
    return _results("currencies", outcomes, "The currency created successfully.")


def update_currencies(call: Call) -> Response:
    """PUT /org/currencies (ids in the body) and PUT /org/currencies/{id}."""
    principal = _principal(call, "ZohoCRM.settings.currencies.UPDATE")
    path_id = call.path_params.get("currency_id")
    if path_id is not None and parse_id(path_id) is None:
        raise InvalidData("ID is invalid", {"resource_path_index": 2})
    _parse(call)
    with wrapped_errors("currencies"):
        items = _many(call, "currencies") if path_id is None else [_one(call, "currencies")]
    outcomes = call.corral.currencies.update(items, principal, currency_id=parse_id(path_id))
    return _results("currencies", outcomes, "The currency updated successfully.")


def _base_currency(call: Call) -> Any:
    body = call.json()
    spec = body.get("base_currency") if isinstance(body, dict) else None
    if not isinstance(spec, dict):
        raise MandatoryNotFound(details={"api_name": "base_currency",
                                         "json_path": "$.base_currency"})
    return spec


def enable_currencies(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.settings.currencies.CREATE")
    _parse(call)
    with wrapped_errors("base_currency"):
        currency_id = call.corral.currencies.enable(_base_currency(call), principal)
    return json_response({"base_currency": envelopes.created(
        currency_id, "The multi-currency feature is enabled and given currency is created as "
                     "the base currency.")})


def update_base_currency(call: Call) -> Response:
    principal = _principal(call, "ZohoCRM.settings.currencies.UPDATE")
    _parse(call)
    with wrapped_errors("base_currency"):
        currency_id = call.corral.currencies.update_base(_base_currency(call), principal)
    return json_response({"base_currency": envelopes.created(
        currency_id, "The currency updated successfully.")})
