"""Related lists (metadata) and related records handlers: parse -> authorise -> service ->
envelope."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from corral import envelopes
from corral.api.http import Call, json_response
from corral.api.records import (
    MAX_PER_PAGE,
    MAX_WRITE,
    PAGE_LIMIT,
    _int_param,
    authorise,
    check_field_permissions,
    context,
    field_list,
    path_record_id,
    render,
    resolve_module,
    results,
    write_items,
)
from corral.api.settings import _settings_principal, module_param
from corral.errors import (
    DiscretePaginationLimitExceeded,
    InvalidData,
    InvalidRequestMethod,
    InvalidUrlPattern,
    LimitExceeded,
    NotSupported,
    RequiredParamMissing,
    UnableToParseDataType,
)
from corral.metadata.related_lists import contact_role_value, related_lists
from corral.records.related import Relation
from corral.records.service import WriteContext
from corral.records.validate import parse_record_id

# What each method needs: the scope operation, and the profile action on the parent module.
NEEDS = {"GET": ("READ", "view"), "POST": ("CREATE", "edit"), "PUT": ("UPDATE", "edit"),
         "DELETE": ("DELETE", "edit")}
CONTACT_ROLE = "Contact_Role"
# Fields of a linking record that are the link itself, not the link's own values.
LINK_KEYS = frozenset({"id", "Owner", "Created_By", "Modified_By", "Created_Time",
                       "Modified_Time"})


# ----------------------------------------------------------------------------- metadata
def list_related_lists(call: Call) -> Response:
    _settings_principal(call, "related_lists")
    module = module_param(call)
    rls = related_lists(module.api_name)
    if not rls:
        return json_response(None, 204)
    registry = call.corral.registry
    return json_response({"related_lists": [
        envelopes.related_list_json(module, rl, i, registry.get(rl.module), version=call.version)
        for i, rl in enumerate(rls, start=1)]})


def get_related_list(call: Call) -> Response:
    _settings_principal(call, "related_lists")
    module = module_param(call)
    registry = call.corral.registry
    for i, rl in enumerate(related_lists(module.api_name), start=1):
        if rl.id_for(module.api_name) == call.path_params["list_id"]:
            return json_response({"related_lists": [
                envelopes.related_list_json(module, rl, i, registry.get(rl.module),
                                            version=call.version)]})
    raise InvalidData("the id given seems to be invalid", {"resource_path_index": 2})


# ----------------------------------------------------------------------------- records
def _check_path(call: Call) -> None:
    """`/{module}/{id}/{x}` paths that name no related list are another resource Corral does
    not serve (`/Leads/1/actions/nope`, `/settings/fields/1/x`, `/Leads/1/2/3`)."""
    name, params = call.path_params["related_list"], call.path_params
    if "actions" in (params["record_id"], name) or name.isdigit():
        raise InvalidUrlPattern()


def other_method(call: Call) -> Response:
    """A method no related records API takes, on a path that may be no related list at all."""
    _check_path(call)
    raise InvalidRequestMethod()


def _relation(call: Call) -> Relation:
    """Authorise on the parent module (scope and profile) and on the related module, then
    resolve the related list of a live parent record."""
    _check_path(call)
    name = call.path_params["related_list"]
    parent = resolve_module(call)
    op, action = NEEDS[call.method]
    authorise(call, parent, "READ" if op == "CREATE" else op, "view" if op == "READ" else action,
              "permission denied")
    if call.method in ("PUT", "POST"):
        call.json()  # a body that is no JSON is refused before anything is looked up
    rel = call.corral.related.relation(parent, path_record_id(call), name)
    written = rel.linking or rel.related
    if op == "READ":
        for module in rel.members or (rel.related,):
            authorise(call, module, "READ", "view", "permission denied")
    elif rel.rl.kind == "activities":
        raise NotSupported("the related list is read-only: write the activity itself",
                           {"resource_path_index": 2})
    elif rel.rl.kind == "notes":
        authorise(call, written, op, {"CREATE": "create", "DELETE": "delete"}.get(op, "edit"),
                  "permission denied")
    else:
        authorise(call, written, "UPDATE", "edit", "permission denied")
    return rel


def _related_id(call: Call) -> int:
    rid = parse_record_id(call.path_params["related_id"])
    if rid is None:
        raise InvalidData("the related id given seems to be invalid",
                          {"resource_path_index": 3})
    return rid


def _link_values(rel: Relation, rec_id: int, by_related: dict[int, Any]) -> dict[str, Any]:
    """A many-to-many link's own fields (`list_price`, `Member_Status`) shown on the record."""
    link = by_related.get(rec_id)
    if link is None or rel.linking is None:
        return {}
    skip = LINK_KEYS | {rel.rl.field, rel.rl.connected_field}
    out = {f.api_name: link.data.get(f.api_name) for f in rel.linking.fields
           if f.api_name not in skip}
    if CONTACT_ROLE in out:
        role = out[CONTACT_ROLE]
        out[CONTACT_ROLE] = envelopes.contact_role_json(None if role is None else str(role))
    return out


def _link_input(rel: Relation, values: dict[str, Any]) -> dict[str, Any]:
    """A link's own values as given; a contact role may be named by `{id}` or `{name}`."""
    field = rel.linking.field(CONTACT_ROLE) if rel.linking is not None else None
    if field is None or CONTACT_ROLE not in values:
        return values
    return {**values, CONTACT_ROLE: contact_role_value(values[CONTACT_ROLE],
                                                       list(field.pick_list))}


def _listing(call: Call, rel: Relation, related_id: int | None) -> Response:
    page = _int_param(call, "page", 1)
    per_page = min(_int_param(call, "per_page", MAX_PER_PAGE), MAX_PER_PAGE)
    if page * per_page > PAGE_LIMIT:
        raise DiscretePaginationLimitExceeded(details={"limit": PAGE_LIMIT})
    only = field_list(call, rel.related, required=False) if not rel.members else None
    recs, more, links = call.corral.related.page(rel, offset=(page - 1) * per_page,
                                                 limit=per_page, related_id=related_id)
    if not recs:
        return json_response(None, 204)
    if rel.members:
        data = _render_activities(call, rel, recs)
    else:
        data = render(call, rel.related, recs, only)
    for rec, row in zip(recs, data, strict=True):
        row.update(_link_values(rel, rec.id, links))
    if related_id is not None:
        return json_response({"data": data})
    info = envelopes.page_info(version=call.version, per_page=per_page, count=len(recs),
                               page=page, more=more)
    return json_response({"data": data, "info": info})


def _render_activities(call: Call, rel: Relation, recs: list[Any]) -> list[dict[str, Any]]:
    """Tasks, Events and Calls in one list, each rendered by its module and tagged with
    `Activity_Type` (the module's api_name), as Zoho's activities lists show them."""
    by_id = {m.id: m for m in rel.members}
    rows: dict[int, dict[str, Any]] = {}
    for module in rel.members:
        mine = [r for r in recs if r.module_id == module.id]
        for rec, row in zip(mine, render(call, module, mine, None), strict=True):
            rows[rec.id] = envelopes.activity_json(row, by_id[rec.module_id])
    return [rows[r.id] for r in recs]


def get_related_records(call: Call) -> Response:
    return _listing(call, _relation(call), None)


def get_related_record(call: Call) -> Response:
    rel = _relation(call)
    return _listing(call, rel, _related_id(call))


def _ctx(call: Call) -> WriteContext:
    return context(call, call.authenticate(), {})


def _linked_response(linked: list[Any], *, removed: bool) -> Response:
    data = [envelopes.relation_result(x, removed=removed) for x in linked]
    return json_response({"data": data}, envelopes.batch_status(linked, all_ok=200))


def _body_items(call: Call, *, required: bool) -> list[dict[str, Any]]:
    if not call.body.strip() and not required:
        return [{}]
    items, _ = write_items(call)
    if not all(isinstance(i, dict) for i in items):
        raise UnableToParseDataType()
    return items


def update_related_records(call: Call) -> Response:
    rel = _relation(call)
    if rel.rl.kind == "notes":
        raise InvalidRequestMethod()
    items = _body_items(call, required=True)
    pairs: list[tuple[int, dict[str, Any]]] = []
    for i, item in enumerate(items):
        rid = parse_record_id(item.get("id"))
        if rid is None:
            raise InvalidData(BAD_ID, {"api_name": "id", "json_path": f"$.data[{i}].id"})
        pairs.append((rid, {k: v for k, v in item.items() if k != "id"}))
    return _link(call, rel, pairs)


BAD_ID = "the related id given seems to be invalid"


def update_related_record(call: Call) -> Response:
    rel = _relation(call)
    rid = _related_id(call)
    items = _body_items(call, required=False)
    if rel.rl.kind == "notes":
        check_field_permissions(call.authenticate(), rel.related, items)
        outcomes = call.corral.related.update_note(rel, rid, items[0], _ctx(call))
        return results(call, outcomes, all_ok=200)
    values = {k: v for k, v in items[0].items() if k != "id"}
    return _link(call, rel, [(rid, values)])


def _link(call: Call, rel: Relation, pairs: list[tuple[int, dict[str, Any]]]) -> Response:
    pairs = [(rid, _link_input(rel, values)) for rid, values in pairs]
    if rel.linking is not None:
        check_field_permissions(call.authenticate(), rel.linking, [v for _, v in pairs])
    linked = call.corral.related.link(rel, pairs, _ctx(call))
    return _linked_response(linked, removed=False)


def delete_related_records(call: Call) -> Response:
    rel = _relation(call)
    raw = call.query.get("ids")
    parts = [x.strip() for x in (raw or "").split(",") if x.strip()]
    if not parts:
        raise RequiredParamMissing(details={"param_name": "ids"})
    if len(parts) > MAX_WRITE:
        raise LimitExceeded(details={"limit": MAX_WRITE})
    ids = [parse_record_id(x) for x in parts]
    if any(i is None for i in ids):
        raise InvalidData(BAD_ID, {"param_name": "ids"})
    linked = call.corral.related.unlink(rel, [i for i in ids if i is not None], _ctx(call))
    return _linked_response(linked, removed=True)


def delete_related_record(call: Call) -> Response:
    rel = _relation(call)
    linked = call.corral.related.unlink(rel, [_related_id(call)], _ctx(call))
    return _linked_response(linked, removed=True)


def add_notes(call: Call) -> Response:
    """POST /{module}/{id}/Notes (the only related list that takes POST)."""
    rel = _relation(call)
    if rel.rl.kind != "notes":
        raise InvalidRequestMethod()
    items, body = write_items(call)
    principal = call.authenticate()
    check_field_permissions(principal, rel.related, items)
    outcomes = call.corral.related.add_notes(rel, items, context(call, principal, body))
    return results(call, outcomes, all_ok=201)
