"""Corral's history APIs: revert a job or an API call, a record's timeline, find and merge
duplicates. Handlers parse, authorise, call one service and render through `envelopes`."""

from __future__ import annotations

from starlette.responses import Response

from corral import envelopes
from corral.api.http import Call, json_response
from corral.api.records import authorise, path_record_id, resolve_module
from corral.errors import InvalidData, MandatoryNotFound
from corral.records import duplicate_sets, timeline
from corral.records.merge import parse_merge
from corral.records.revert import Target
from corral.records.validate import parse_record_id
from corral.records.writes import WriteContext

# No Zoho scope covers a revert: it rewrites records of any module, so it asks for the
# modules-wide operation (ZohoCRM.modules.ALL covers both).
REVERT_SCOPE = "ZohoCRM.modules.UPDATE"
REVERT_READ_SCOPE = "ZohoCRM.modules.READ"


def schedule_revert(call: Call) -> Response:
    principal = call.authenticate()
    principal.require_scope(REVERT_SCOPE, "ZohoCRM.modules.ALL")
    body = call.json()
    target = Target.parse(body)
    force = body.get("force", False)
    if not isinstance(force, bool):
        raise InvalidData(details={"api_name": "force", "json_path": "$.force",
                                   "expected_data_type": "boolean"})
    job_id = call.corral.revert.schedule(target, force, WriteContext(principal, call.request_id))
    return json_response({"data": [envelopes.success("revert scheduled",
                                                     {"job_id": str(job_id)})]}, 202)


def revert_status(call: Call) -> Response:
    principal = call.authenticate()
    principal.require_scope(REVERT_READ_SCOPE, "ZohoCRM.modules.ALL")
    job_id = call.query.get("job_id")
    if not job_id:
        raise MandatoryNotFound("mandatory param missing", {"param_name": "job_id"})
    counts, skipped = call.corral.revert.status(job_id, principal)
    return json_response({"data": [counts], "skipped": skipped})


# ----------------------------------------------------------------------------- timeline
def _page_param(call: Call, name: str, default: int, top: int) -> int:
    raw = call.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= top:
        raise InvalidData(details={"param_name": name})
    return value


def record_timeline(call: Call) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "READ", "view", "Permission denied to read records")
    record_id = parse_record_id(call.path_params["record_id"])
    if record_id is None:
        raise InvalidData("the related id given seems to be invalid", {"resource_path_index": 1})
    sort_by = call.query.get("sort_by") or "audited_time"
    order = (call.query.get("sort_order") or "desc").lower()
    if sort_by != "audited_time":
        raise InvalidData(details={"param_name": "sort_by", "supported_values": ["audited_time"]})
    if order not in ("asc", "desc"):
        raise InvalidData(details={"param_name": "sort_order",
                                   "supported_values": ["asc", "desc"]})
    inner = frozenset(x for x in (call.query.get("include_inner_details") or "").split(",") if x)
    if inner - envelopes.INNER_DETAILS:
        raise InvalidData(details={"param_name": "include_inner_details"})
    include = _include(call)
    filters = call.query.get("filters") or ""
    token = call.query.get("page_token")
    if token:
        if call.query.get("per_page") or call.query.get("page"):
            # Zoho: `per_page` belongs to the first page; later pages come by token only.
            raise InvalidData(details={"param_name": "page_token"})
        at = timeline.read_token(token, record_id, order, filters)
    else:
        at = timeline.PageAt(
            _page_param(call, "page", 1, 10**6),
            _page_param(call, "per_page", timeline.MAX_PER_PAGE, timeline.MAX_PER_PAGE))
    page = call.corral.timeline.page(
        module, record_id, page=at.page, per_page=at.per_page,
        newest_first=order == "desc", keep=timeline.parse_filters(filters))
    if not page.events:
        return json_response(None, 204)
    tokens = {"next_page_token": timeline.make_token(record_id, at.page + 1, at.per_page,
                                                     order, filters) if page.more else None,
              "previous_page_token": timeline.make_token(record_id, at.page - 1, at.per_page,
                                                         order, filters)
              if at.page > 1 else None}
    tz = call.corral.query.principal_tz(principal)
    return json_response(envelopes.timeline_json(module, page, call.corral.query.users(), tz,
                                                 inner, include=include, tokens=tokens))


def _include(call: Call) -> frozenset[str]:
    """`include` (extension, type); Zoho requires it with `include_timeline_type`, whose only
    documented extra type is `signals` (Corral has no signals, so it adds no entries)."""
    include = frozenset(x for x in (call.query.get("include") or "").split(",") if x)
    if include - {"extension", "type"}:
        raise InvalidData(details={"param_name": "include"})
    kinds = frozenset(x for x in (call.query.get("include_timeline_type") or "").split(",")
                      if x)
    if kinds - {"signals"}:
        raise InvalidData(details={"param_name": "include_timeline_type"})
    if kinds and not include:
        raise InvalidData(details={"param_name": "include"})
    return include


# ----------------------------------------------------------------------------- duplicates
def find_duplicates(call: Call) -> Response:
    module = resolve_module(call)
    authorise(call, module, "READ", "view", "Permission denied to read records")
    fields = duplicate_sets.parse_fields(module, call.query.get("fields"))
    threshold = duplicate_sets.parse_threshold(call.query.get("threshold"))
    page = _page_param(call, "page", 1, 10**6)
    per_page = _page_param(call, "per_page", timeline.MAX_PER_PAGE, timeline.MAX_PER_PAGE)
    sets = call.corral.duplicates.find(module, fields, threshold)
    if not sets[(page - 1) * per_page:]:
        return json_response(None, 204)
    return json_response(envelopes.duplicate_sets_json(sets, page=page, per_page=per_page))


# ----------------------------------------------------------------------------- merge
def merge_records(call: Call) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "UPDATE", "edit", "Permission denied to update")
    principal.require_module_permission(module.api_name, "delete", "Permission denied to delete")
    master = path_record_id(call)
    spec = parse_merge(module, master, call.json())
    job_id = call.corral.merge.schedule(module, spec, WriteContext(principal, call.request_id))
    return json_response({"merge": [{"code": "SCHEDULED", "details": {"job_id": str(job_id)},
                                     "message": "merge scheduled", "status": "success"}]}, 201)


def merge_status(call: Call) -> Response:
    module = resolve_module(call)
    authorise(call, module, "READ", "view", "Permission denied to read records")
    found = call.corral.merge.status(module, path_record_id(call), call.query.get("job_id"))
    if found is None:
        return json_response(None, 204)
    return json_response(envelopes.merge_status_json(found))
