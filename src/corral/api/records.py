"""Records API handlers: parse -> authorise -> service -> envelope, a few lines each."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from starlette.responses import Response

from corral import envelopes
from corral.api.http import Call, json_response
from corral.auth.service import Principal
from corral.errors import (
    AmbiguityDuringProcessing,
    DiscretePaginationLimitExceeded,
    ExpectedParamMissing,
    InvalidData,
    InvalidModule,
    InvalidQuery,
    LimitExceeded,
    LimitReached,
    MandatoryNotFound,
    NoPermission,
    RequiredParamMissing,
    UnableToParseDataType,
)
from corral.metadata.model import Module
from corral.records import criteria as cr
from corral.records import page_tokens
from corral.records.query import SORTABLE, Filters
from corral.records.service import Outcome, WriteContext
from corral.records.validate import parse_record_id

MAX_WRITE = 100
MAX_PER_PAGE = 200
MAX_FIELDS = 50
PAGE_LIMIT = 2000
TRIGGERS = ("workflow", "approval", "blueprint", "pathfinder", "orchestration")
WORD_RE = re.compile(r"^[\w\s.@+-]{2,}$", re.UNICODE)
RECORD_SCOPES = ("modules", "mass_update")
SCOPE_OPERATIONS = ("READ", "CREATE", "UPDATE", "DELETE")
FIELD_NAME_RE = re.compile(r"\$?[A-Za-z0-9_]+")
SCOPE_NAME_RE = re.compile(r"[a-z0-9_]+")  # what can sit between dots of a scope


# ----------------------------------------------------------------------------- helpers
def module_scopes(module: Module, op: str) -> tuple[str, ...]:
    names = {module.scope_name, module.api_name.lower()}
    return tuple(f"ZohoCRM.modules.{n}.{op}" for n in sorted(names))


def authorise(call: Call, module: Module, op: str, action: str, message: str) -> Principal:
    principal = call.authenticate()
    principal.require_scope(*module_scopes(module, op))
    principal.require_module_permission(module.api_name, action, message)
    return principal


def resolve_module(call: Call) -> Module:
    """The path's module, once the token could reach a module of that name at all.

    401 comes before any question about the module, as on settings: a token none of whose
    record scopes (modules or mass update, any operation) could cover the name gets
    OAUTH_SCOPE_MISMATCH whether the module exists or not, so it cannot probe which do. The
    handler then checks the exact scope for its operation.
    """
    principal = call.authenticate()  # also brings the metadata up to date
    name = call.path_params["module"]
    module = call.corral.registry.get(name)
    if module is not None:
        names = {module.scope_name, module.api_name.lower()}
    else:  # were it a module, its scope would be its name's or custom modules' one
        names = {"custom"} | ({name.lower()} if SCOPE_NAME_RE.fullmatch(name.lower()) else set())
    principal.require_scope(*[f"ZohoCRM.{family}.{n}.{op}" for family in RECORD_SCOPES
                              for n in sorted(names) for op in SCOPE_OPERATIONS])
    if module is None:
        raise InvalidModule(details={"resource_path_index": 0})
    return module


def path_record_id(call: Call) -> int:
    rid = parse_record_id(call.path_params["record_id"])
    if rid is None:
        raise InvalidData("the id given seems to be invalid", {"resource_path_index": 1})
    return rid


def write_items(call: Call) -> tuple[list[Any], dict[str, Any]]:
    body = call.json()
    if not isinstance(body, dict):
        raise UnableToParseDataType()
    data = body.get("data")
    if not isinstance(data, list) or not data:
        raise MandatoryNotFound(details={"api_name": "data", "json_path": "$.data"})
    if len(data) > MAX_WRITE:
        raise LimitExceeded(f"more than the allowed limit of {MAX_WRITE} records per API call",
                            {"limit": MAX_WRITE})
    return data, body


def parse_trigger(body: dict[str, Any]) -> tuple[str, ...] | None:
    if "trigger" not in body or body["trigger"] is None:
        return None
    trig = body["trigger"]
    if not isinstance(trig, list):
        raise InvalidData(details={"api_name": "trigger", "json_path": "$.trigger",
                                   "expected_data_type": "jsonarray"})
    for i, item in enumerate(trig):
        if item not in TRIGGERS:
            raise InvalidData(details={"api_name": "trigger", "json_path": f"$.trigger[{i}]",
                                       "supported_values": list(TRIGGERS)})
    return tuple(trig)


def check_field_permissions(principal: Principal, module: Module, items: list[Any]) -> None:
    denied = principal.read_only_fields(module.api_name)
    if not denied:
        return
    for item in items:
        if isinstance(item, dict):
            for key in item:
                if key in denied:
                    raise NoPermission("Field Edit Permission not given", {"api_name": key})


def results(call: Call, outcomes: list[Outcome], *, all_ok: int, upsert: bool = False,
            ) -> Response:
    principal = call.authenticate()
    me = principal.user
    named = {uid for o in outcomes if o.record is not None
             for uid in (o.record.created_by, o.record.modified_by)}
    # Mostly the caller alone (read at authentication, in this request): no query then.
    users = {me.id: me, **call.corral.query.users_of(named - {me.id})}
    tz = call.corral.query.principal_tz(principal)
    data = [envelopes.write_result(o, users, tz, upsert=upsert) for o in outcomes]
    return json_response({"data": data}, envelopes.batch_status(outcomes, all_ok=all_ok))


FEATURES = ("layout_rules",)


def parse_features(body: dict[str, Any]) -> bool:
    """`apply_feature_execution: [{"name": "layout_rules"}]` -> whether layout rules apply."""
    raw = body.get("apply_feature_execution")
    if raw is None:
        return False
    if not isinstance(raw, list):
        raise InvalidData(details={"api_name": "apply_feature_execution",
                                   "json_path": "$.apply_feature_execution",
                                   "expected_data_type": "jsonarray"})
    for i, item in enumerate(raw):
        name = item.get("name") if isinstance(item, dict) else None
        if name not in FEATURES:
            raise InvalidData(details={"api_name": "name",
                                       "json_path": f"$.apply_feature_execution[{i}].name",
                                       "supported_values": list(FEATURES)})
    return bool(raw)


def context(call: Call, principal: Principal, body: dict[str, Any]) -> WriteContext:
    return WriteContext(principal=principal, request_id=call.request_id,
                        trigger=parse_trigger(body), layout_rules=parse_features(body))


def delete_context(call: Call, principal: Principal) -> WriteContext:
    """`wf_trigger` (default true) decides whether workflow rules run on delete."""
    raw = (call.query.get("wf_trigger") or "true").lower()
    if raw not in {"true", "false"}:
        raise InvalidData(details={"param_name": "wf_trigger"})
    return WriteContext(principal, call.request_id, trigger=None if raw == "true" else ())


def _int_param(call: Call, name: str, default: int) -> int:
    raw = call.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidData(details={"param_name": name}) from None
    if value < 1:
        raise InvalidData(details={"param_name": name})
    return value


def _choice(call: Call, name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = call.query.get(name) or default
    if raw not in allowed:
        raise InvalidData(details={"param_name": name, "supported_values": list(allowed)})
    return raw


def filters(call: Call, module: Module | None = None) -> Filters:
    converted = "false"
    if module is not None and call.query.get("cvid"):
        # The "Converted Leads" view lists converted leads without `converted=true`.
        vid = parse_record_id(call.query["cvid"])
        row = call.corral.query.view(module, vid) if vid else None
        if row is not None and row.system_name == "CONVERTEDVIEWS":
            converted = "both"
    return Filters(converted=_choice(call, "converted", ("true", "false", "both"), converted),
                   approved=_choice(call, "approved", ("true", "false", "both"), "true"))


def field_list(call: Call, module: Module, *, required: bool) -> list[str] | None:
    raw = call.query.get("fields")
    if not raw:
        if required:
            raise RequiredParamMissing(details={"param_name": "fields"})
        return None
    names = [x.strip() for x in raw.split(",") if x.strip()]
    if len(names) > MAX_FIELDS:
        raise LimitExceeded("Fields limit exceeded.", {"limit": MAX_FIELDS})
    # Unknown names are skipped, but text no api_name could be ($-keys included) is an error.
    if not names or not all(FIELD_NAME_RE.fullmatch(n) for n in names):
        raise InvalidData(details={"param_name": "fields"})
    return names


def render(call: Call, module: Module, recs: list[Any], only: list[str] | None,
           ) -> list[dict[str, Any]]:
    principal = call.authenticate()
    q = call.corral.query
    users = q.users()
    names = q.lookup_names(module, recs)
    tz = q.principal_tz(principal)
    tags = call.corral.tags.by_ids(sorted({int(t) for r in recs for t in r.data.get("Tag") or []
                                           if str(t).isdigit()}))
    return [envelopes.record_json(module, r, tz=tz, users=users, names=names, only=only,
                                  tags=tags) for r in recs]


def _modified_since(call: Call) -> datetime | None:
    """First stored Modified_Time that counts as modified since the header's time.

    Times are shown to the second, so a record modified within the given second is not newer
    (sending back the Modified_Time just read gives 304). ISO 8601 as the SDKs send it; the
    HTTP-date form is accepted too.
    """
    raw = call.headers.get("if-modified-since")
    if not raw:
        return None
    try:
        try:
            parsed = datetime.fromisoformat(raw.strip())
        except ValueError:
            parsed = parsedate_to_datetime(raw.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        since = parsed.astimezone(UTC).replace(tzinfo=None, microsecond=0)
        return since + timedelta(seconds=1)
    except (ValueError, TypeError, OverflowError):
        raise InvalidData(details={"param_name": "If-Modified-Since"}) from None


# ----------------------------------------------------------------------------- writes
def insert_records(call: Call) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "CREATE", "create", "Permission denied to add records")
    items, body = write_items(call)
    check_field_permissions(principal, module, items)
    outcomes = call.corral.records.insert(module, items, context(call, principal, body))
    return results(call, outcomes, all_ok=201)


def update_records(call: Call) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "UPDATE", "edit", "Permission denied to update")
    items, body = write_items(call)
    check_field_permissions(principal, module, items)
    outcomes = call.corral.records.update(module, items, context(call, principal, body))
    return results(call, outcomes, all_ok=200)


def update_record(call: Call) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "UPDATE", "edit", "Permission denied to update")
    rid = path_record_id(call)
    items, body = write_items(call)
    check_field_permissions(principal, module, items)
    if call.corral.query.get_one(module, rid) is None:
        raise InvalidData("the id given seems to be invalid", {"resource_path_index": 1})
    outcomes = call.corral.records.update(module, items[:1], context(call, principal, body),
                                          path_id=rid)
    return results(call, outcomes, all_ok=200)


def upsert_records(call: Call) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "CREATE", "create", "Permission denied to upsert")
    principal.require_module_permission(module.api_name, "edit", "Permission denied to upsert")
    items, body = write_items(call)
    check_field_permissions(principal, module, items)
    dcf = body.get("duplicate_check_fields")
    outcomes = call.corral.records.upsert(module, items, context(call, principal, body),
                                          duplicate_check_fields=dcf)
    return results(call, outcomes, all_ok=200, upsert=True)


def delete_records(call: Call) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "DELETE", "delete", "Permission denied to delete")
    raw = call.query.get("ids")
    if not raw:
        raise RequiredParamMissing(details={"param_name": "ids"})
    ids = [x.strip() for x in raw.split(",") if x.strip()]
    if not ids:  # `ids=,` names no record: as good as none
        raise RequiredParamMissing(details={"param_name": "ids"})
    if len(ids) > MAX_WRITE:
        raise LimitExceeded(f"more than the allowed limit of {MAX_WRITE} records per API call",
                            {"limit": MAX_WRITE})
    if any(parse_record_id(x) is None for x in ids):
        raise UnableToParseDataType(details={"param_name": "ids"})
    outcomes = call.corral.records.delete(module, ids, delete_context(call, principal))
    return results(call, outcomes, all_ok=200)


def delete_record(call: Call) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "DELETE", "delete", "Permission denied to delete")
    rid = path_record_id(call)
    outcomes = call.corral.records.delete(module, [str(rid)], delete_context(call, principal))
    if outcomes[0].error is not None:
        raise InvalidData("the id given seems to be invalid", {"resource_path_index": 1})
    return results(call, outcomes, all_ok=200)


# ----------------------------------------------------------------------------- reads
def list_records(call: Call) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "READ", "view", "Permission denied to read records")
    q = call.corral.query
    if call.query.get("page_token") and call.query.get("page"):
        raise AmbiguityDuringProcessing(details={"ambiguity_due_to": ["page", "page_token"]})
    page = _int_param(call, "page", 1)
    per_page = min(_int_param(call, "per_page", MAX_PER_PAGE), MAX_PER_PAGE)
    sort_by = _choice(call, "sort_by", tuple(SORTABLE), "id")
    sort_order = _choice(call, "sort_order", ("asc", "desc"), "desc")
    where = _list_where(call, module, principal)
    ids_raw = call.query.get("ids")
    only = field_list(call, module, required=call.version not in {"v2", "v2.1"} and not ids_raw)
    since = _modified_since(call)
    if since is not None:
        where.append(q.modified_since_where(since))
    cursor = _cursor(call, module, principal)
    if cursor is None:
        if page * per_page > PAGE_LIMIT:
            raise DiscretePaginationLimitExceeded(details={"limit": PAGE_LIMIT})
        recs, more = q.fetch(module, where, offset=(page - 1) * per_page, limit=per_page,
                             sort_by=sort_by, sort_order=sort_order)
        before = page > 1
    else:
        recs, beyond = q.fetch_from(module, where, sort_by=sort_by, sort_order=sort_order,
                                    key=cursor.key, record_id=cursor.record_id,
                                    forward=cursor.forward, limit=per_page)
        page = cursor.page
        more, before = (beyond, True) if cursor.forward else (True, beyond)
    if not recs:
        return json_response(None, 304 if since is not None else 204)
    info = envelopes.page_info(version=call.version, per_page=per_page, count=len(recs),
                               page=page, more=more, sort_by=sort_by, sort_order=sort_order,
                               **_page_tokens(call, module, principal, recs, page=page,
                                              more=more, before=before,
                                              sort=(sort_by, sort_order)))
    return json_response({"data": render(call, module, recs, only), "info": info})


def _list_where(call: Call, module: Module, principal: Principal) -> list[Any]:
    """Base filters, `ids=` and `cvid=` of Get Records."""
    q = call.corral.query
    where = q.base_where(module, filters(call, module))
    ids_raw = call.query.get("ids")
    if ids_raw:
        ids = [parse_record_id(x) for x in ids_raw.split(",") if x.strip()]
        if not ids or any(i is None for i in ids):
            raise InvalidData(details={"param_name": "ids"})
        if len(ids) > 100:
            raise LimitExceeded(details={"limit": 100})
        where.append(q.ids_where([i for i in ids if i is not None]))
    cvid = call.query.get("cvid")
    if cvid:
        where.append(view_condition(call, module, principal, cvid))
    return where


def _binding(call: Call) -> str:
    """What a page token is bound to: every parameter but the paging ones, and the
    If-Modified-Since header (a token continues one listing, not another)."""
    params = dict(call.query)
    params["If-Modified-Since"] = call.headers.get("if-modified-since") or ""
    return page_tokens.binding_of(params)


def _cursor(call: Call, module: Module, principal: Principal) -> page_tokens.Cursor | None:
    raw = call.query.get("page_token")
    if not raw:
        return None
    cursor = page_tokens.decode(raw, call.corral.query.page_secret())
    page_tokens.check(cursor, module_id=module.id, user_id=principal.user.id,
                      binding=_binding(call), now=call.corral.clock())
    return cursor


def _page_tokens(call: Call, module: Module, principal: Principal, recs: list[Any], *,
                 page: int, more: bool, before: bool, sort: tuple[str, str]) -> dict[str, Any]:
    """next/previous page tokens (from the page's last / first row) and their expiry."""
    if call.version in {"v2", "v2.1"} or not (more or before):
        return {}
    q = call.corral.query
    sort_by, sort_order = sort
    expires = page_tokens.expiry(call.corral.clock())
    secret = q.page_secret()
    binding = _binding(call)

    def token(rec: Any, forward: bool) -> str:
        return page_tokens.encode(page_tokens.Cursor(
            module.id, principal.user.id, binding, sort_by, sort_order, q.sort_key(rec, sort_by),
            rec.id, forward, page + 1 if forward else max(page - 1, 1), expires), secret)

    return {"next_token": token(recs[-1], True) if more else None,
            "previous_token": token(recs[0], False) if before else None,
            "token_expiry": envelopes.format_time(page_tokens.expiry_time(expires),
                                                  q.principal_tz(principal))}


def view_condition(call: Call, module: Module, principal: Principal, cvid: str) -> Any:
    row = call.corral.query.visible_view(module, cvid, principal)
    if row is None:
        raise InvalidData("invalid cvid", {"param_name": "cvid"})
    return call.corral.query.view_condition(module, row, principal)


def get_record(call: Call) -> Response:
    module = resolve_module(call)
    authorise(call, module, "READ", "view", "Permission denied to read records")
    rid = path_record_id(call)
    rec = call.corral.query.get_one(module, rid)
    if rec is None:
        raise InvalidData("the id given seems to be invalid", {"resource_path_index": 1})
    only = field_list(call, module, required=False)
    return json_response({"data": render(call, module, [rec], only)})


def _search_value(call: Call, name: str) -> str:
    value = call.query[name]
    if len(value) > cr.MAX_SEARCH_VALUE:
        raise InvalidData(details={"param_name": name, "maximum_length": cr.MAX_SEARCH_VALUE})
    return value


def _search_where(call: Call, module: Module, principal: Principal) -> list[Any]:
    q = call.corral.query
    where = q.base_where(module, filters(call, module))
    tz = q.principal_tz(principal)
    if call.query.get("criteria"):
        try:
            crit = cr.parse_criteria(call.query["criteria"])
            cr.check_value_lengths(crit)
        except cr.CriteriaError as exc:
            raise InvalidQuery(details={"reason": exc.reason, **(
                {"part": exc.part} if exc.part else {})}) from None
        where.append(q.compile(module, crit, tz=tz, mode="search"))
    elif call.query.get("email"):
        where.append(q.special_where(module, email=_search_value(call, "email")))
    elif call.query.get("phone"):
        where.append(q.special_where(module, phone=_search_value(call, "phone")))
    elif call.query.get("word"):
        word = _search_value(call, "word")
        if not WORD_RE.match(word.strip()) or len(word.strip()) < 2:
            raise InvalidData("The search value contains special characters or does not "
                              "contain at least two characters", {"param_name": "word"})
        where.append(q.special_where(module, word=word.strip()))
    else:
        return []
    return where


def search_records(call: Call) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "READ", "view", "Permission denied to read records")
    where = _search_where(call, module, principal)
    if not where:
        raise ExpectedParamMissing(details={"param_name": "criteria"})
    if call.query.get("cvid"):  # search within a custom view (facts §1.5)
        where.append(view_condition(call, module, principal, call.query["cvid"]))
    page = _int_param(call, "page", 1)
    per_page = min(_int_param(call, "per_page", MAX_PER_PAGE), MAX_PER_PAGE)
    if page * per_page > PAGE_LIMIT:
        raise LimitReached(details={"limit": PAGE_LIMIT})
    only = field_list(call, module, required=False)
    recs, more = call.corral.query.fetch(module, where, offset=(page - 1) * per_page,
                                         limit=per_page)
    if not recs:
        return json_response(None, 204)
    info: dict[str, Any] = {"per_page": per_page, "count": len(recs), "page": page,
                            "more_records": more}
    if call.version not in {"v2", "v2.1"}:
        info = {"per_page": per_page, "count": len(recs), "sort_by": "id", "page": page,
                "sort_order": "desc", "more_records": more}
    return json_response({"data": render(call, module, recs, only), "info": info})


def count_records(call: Call) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "READ", "view", "Permission denied to read records")
    where = _search_where(call, module, principal) or call.corral.query.base_where(
        module, filters(call, module))
    if call.query.get("cvid"):
        where.append(view_condition(call, module, principal, call.query["cvid"]))
    return json_response({"count": call.corral.query.count(where)})


def deleted_records(call: Call) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "READ", "view", "Permission denied to read records")
    kind = _choice(call, "type", ("all", "recycle", "permanent"), "all")
    page = _int_param(call, "page", 1)
    per_page = min(_int_param(call, "per_page", MAX_PER_PAGE), MAX_PER_PAGE)
    if kind == "permanent" or (page - 1) * per_page >= 2**62:
        # Corral keeps every deleted record in the recycle bin; no table reaches 2**62 rows
        # (and larger offsets do not fit SQL integers).
        return json_response(None, 204)
    q = call.corral.query
    recs, more = q.deleted(module, offset=(page - 1) * per_page, limit=per_page)
    if not recs:
        return json_response(None, 204)
    users = q.users()
    tz = q.principal_tz(principal)
    data = [envelopes.deleted_json(r, module, tz=tz, users=users,
                                   display=r.data.get(module.display_field)) for r in recs]
    info = envelopes.page_info(version="v2", per_page=per_page, count=len(recs), page=page,
                               more=more)
    return json_response({"data": data, "info": info})
