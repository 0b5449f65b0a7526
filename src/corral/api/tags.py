"""Tags: `/settings/tags` (definitions) and `actions/add_tags` / `remove_tags` on records."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from corral import envelopes
from corral.api.http import Call, json_response, wrapped_errors
from corral.api.records import authorise, path_record_id, resolve_module
from corral.api.settings import require_admin, settings_module
from corral.auth.service import Principal
from corral.errors import InvalidData, MandatoryNotFound, UnableToParseDataType
from corral.metadata.model import Module
from corral.records.tags import MAX_PER_MODULE, TagResult
from corral.records.validate import parse_record_id
from corral.records.writes import WriteContext
from corral.storage.repositories.tags import StoredTag

AREA = "tags"


def _module(call: Call, op: str) -> tuple[Module, Principal]:
    module, principal = settings_module(call, AREA, op)
    if op == "READ":
        principal.require_module_permission(module.api_name, "view", "permission denied")
    else:
        require_admin(principal)  # Zoho's "Manage Tags" permission: admins in Corral
    return module, principal


def _body(call: Call) -> dict[str, Any]:
    body = call.json()
    if not isinstance(body, dict):
        raise UnableToParseDataType()
    return body


def _path_tag(call: Call, module: Module | None) -> StoredTag:
    tag_id = parse_record_id(call.path_params["tag_id"])
    if tag_id is None:
        raise InvalidData("the id given seems to be invalid", {"resource_path_index": 0})
    return call.corral.tags.get(tag_id, module)


def _answer(call: Call, principal: Principal, results: list[TagResult], message: str,
            ok_status: int) -> Response:
    users = call.corral.query.users()
    tz = call.corral.query.principal_tz(principal)
    items = [envelopes.success(message, envelopes.tag_details(r.tag, users, tz))
             if r.tag is not None else envelopes.error_body(r.error)  # type: ignore[arg-type]
             for r in results]
    ok = any(r.tag is not None for r in results)
    return json_response({"tags": items}, ok_status if ok else 400)


def list_tags(call: Call) -> Response:
    module, principal = _module(call, "READ")
    tags = call.corral.tags.of_module(module)
    if call.query.get("my_tags", "").lower() == "true":
        tags = [t for t in tags if t.created_by == principal.user.id]
    users = call.corral.query.users()
    tz = call.corral.query.principal_tz(principal)
    return json_response({"tags": [envelopes.tag_json(t, users, tz) for t in tags],
                          "info": {"count": len(tags), "allowed_count": MAX_PER_MODULE}})


def create_tags(call: Call) -> Response:
    module, principal = _module(call, "CREATE")
    body = _body(call)
    with wrapped_errors(AREA):
        results = call.corral.tags.create(module, body.get("tags"), principal,
                                          call.query.get("color_code"))
    return _answer(call, principal, results, "tags created successfully", 201)


def update_tags(call: Call) -> Response:
    module, principal = _module(call, "UPDATE")
    body = _body(call)
    with wrapped_errors(AREA):
        results = call.corral.tags.update(module, body.get("tags"), principal)
    return _answer(call, principal, results, "tags updated successfully", 200)


def update_tag(call: Call) -> Response:
    module, principal = _module(call, "UPDATE")
    body = _body(call)
    tag = _path_tag(call, module)
    with wrapped_errors(AREA):
        results = call.corral.tags.update(module, body.get("tags"), principal,
                                          path_id=tag.id)
    return _answer(call, principal, results, "tags updated successfully", 200)


def _tag_principal(call: Call, op: str) -> Principal:
    principal = call.authenticate()
    principal.require_scope(f"ZohoCRM.settings.{AREA}.{op}")
    if op != "READ":
        require_admin(principal)
    return principal


def _tag_and_module(call: Call) -> tuple[StoredTag, Module]:
    """Delete and merge name no `module`: the tag says which module it belongs to."""
    tag = _path_tag(call, None)
    module = call.corral.registry.by_id(tag.module_id)
    if module is None:
        raise InvalidData("the id given seems to be invalid", {"resource_path_index": 0})
    return tag, module


def delete_tag(call: Call) -> Response:
    principal = _tag_principal(call, "DELETE")
    tag, module = _tag_and_module(call)
    call.corral.tags.delete(tag, module, WriteContext(principal, call.request_id))
    return json_response({"tags": [envelopes.success("tags deleted successfully",
                                                     {"id": str(tag.id)})]})


def merge_tags(call: Call) -> Response:
    principal = _tag_principal(call, "UPDATE")
    items = _body(call).get("tags")
    tag, module = _tag_and_module(call)
    if not isinstance(items, list) or not items or not isinstance(items[0], dict) or \
            items[0].get("conflict_id") is None:
        err = MandatoryNotFound(details={"api_name": "conflict_id",
                                         "json_path": "$.tags[0].conflict_id"})
        err.wrap = AREA
        raise err
    into_id = parse_record_id(items[0]["conflict_id"])
    with wrapped_errors(AREA):
        into = call.corral.tags.get(into_id or 0, module)
        if into.id == tag.id:
            raise InvalidData("the id given seems to be invalid",
                              {"api_name": "conflict_id", "json_path": "$.tags[0].conflict_id"})
        call.corral.tags.merge(tag, into, module, WriteContext(principal, call.request_id))
    return _answer(call, principal, [TagResult(tag=into)], "tags merged successfully", 200)


def records_count(call: Call) -> Response:
    module, principal = _module(call, "READ")
    tag = _path_tag(call, module)
    return json_response({"count": str(call.corral.tags.records_count(tag))})


# ----------------------------------------------------------------------------- records
def _wanted_tags(call: Call, body: dict[str, Any]) -> Any:
    """v8 sends `{"tags": [{"name"}|{"id"}]}`; v2 sends `?tag_names=a,b`."""
    if body.get("tags") is not None:
        return body["tags"]
    names = call.query.get("tag_names")
    if names:
        return [{"name": n.strip()} for n in names.split(",") if n.strip()]
    return None


def _over_write(call: Call, body: dict[str, Any]) -> bool:
    raw = body.get("over_write", call.query.get("over_write", False))
    return raw is True or str(raw).lower() == "true"


def _tag_records(call: Call, add: bool, one: bool) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "UPDATE", "edit", "permission denied")
    body = _body(call)
    ids: list[Any] = [str(path_record_id(call))] if one else []
    if not one:
        raw = body.get("ids") or call.query.get("ids")
        ids = raw if isinstance(raw, list) else \
            [x.strip() for x in str(raw).split(",") if x.strip()] if raw else []
    with wrapped_errors("data"):
        tagged = call.corral.tags.tag_records(
            module, ids, _wanted_tags(call, body), add=add,
            over_write=add and _over_write(call, body),
            ctx=WriteContext(principal, call.request_id))
    message = "tags updated successfully" if add else "tags removed successfully"
    data = [envelopes.success(message, {"id": t.record_id, "tags": [
        {"id": str(g.id), "name": g.name, "color_code": g.color_code} for g in t.tags]})
        if t.error is None else envelopes.error_body(t.error) for t in tagged]
    done = sum(t.error is None for t in tagged)
    if not done:
        return json_response({"data": data}, 400)
    # Zoho's Record_Success_Wrapper: the counts travel as strings; Corral locks no records and
    # schedules no workflow on tagging (wf_scheduler false)
    return json_response({"data": data, "wf_scheduler": False, "success_count": str(done),
                          "locked_count": "0"})


def add_tags_to_record(call: Call) -> Response:
    return _tag_records(call, True, True)


def remove_tags_from_record(call: Call) -> Response:
    return _tag_records(call, False, True)


def add_tags(call: Call) -> Response:
    return _tag_records(call, True, False)


def remove_tags(call: Call) -> Response:
    return _tag_records(call, False, False)
