"""Attachments: `/{module}/{record_id}/Attachments` upload (file or link), list, download,
delete."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from corral import envelopes
from corral.api.http import Call, json_response
from corral.api.records import authorise, path_record_id, resolve_module
from corral.errors import InvalidData, RequiredParamMissing, UnableToParseDataType
from corral.records.validate import URL_RE, parse_record_id
from corral.records.writes import WriteContext

MAX_PER_PAGE = 200
MAX_DELETE = 100
MAX_PAGE = 10_000  # Corral's bound (Zoho is silent): a record never has that many pages


def _int(call: Call, name: str, default: int) -> int:
    raw = call.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidData(details={"param_name": name})
    return int(raw)


def upload_attachment(call: Call) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "CREATE", "edit", "permission denied")
    rid = path_record_id(call)
    ctx = WriteContext(principal, call.request_id)
    upload = call.upload
    if upload is None and call.body.strip():
        raise UnableToParseDataType()  # a body that is not multipart/form-data
    link = call.query.get("attachmentUrl") or (upload.fields.get("attachmentUrl")
                                               if upload is not None else None)
    service = call.corral.attachments
    if upload is not None and upload.content is not None:
        att = service.attach(module, rid, file_name=upload.file_name,
                             content_type=upload.content_type, content=upload.content,
                             sha256=upload.sha256, link_url=None, ctx=ctx)
    elif link:
        if not URL_RE.match(link):
            raise InvalidData("invalid url", {"param_name": "attachmentUrl"})
        title = call.query.get("title") or (upload.fields.get("title") if upload else None)
        att = service.attach(module, rid, file_name=title or link, content_type=None,
                             content=None, sha256=None, link_url=link, ctx=ctx)
    else:
        raise InvalidData("the request does not contain any file")
    users = call.corral.query.users()
    tz = call.corral.query.principal_tz(principal)
    details = {"Modified_Time": envelopes.format_time(att.modified_time, tz),
               "Modified_By": envelopes.user_ref(users.get(att.modified_by)),
               "Created_Time": envelopes.format_time(att.created_time, tz),
               "id": str(att.id),
               "Created_By": envelopes.user_ref(users.get(att.created_by))}
    return json_response({"data": [envelopes.success("attachment uploaded successfully",
                                                     details)]})


upload_attachment.reads_upload = True  # type: ignore[attr-defined]


def list_attachments(call: Call) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "READ", "view", "permission denied")
    rid = path_record_id(call)
    page = _int(call, "page", 1)
    per_page = min(_int(call, "per_page", MAX_PER_PAGE), MAX_PER_PAGE)
    q = call.corral.query
    atts = call.corral.attachments.of_record(module, rid, offset=(page - 1) * per_page,
                                             limit=per_page + 1)
    more = len(atts) > per_page
    atts = atts[:per_page]
    if not atts:
        return json_response(None, 204)
    parent = q.get_one(module, rid)
    name = parent.data.get(module.display_field) if parent is not None else None
    users = q.users()
    tz = q.principal_tz(principal)
    data: list[dict[str, Any]] = [envelopes.attachment_json(a, module, name, users, tz)
                                  for a in atts]
    fields = call.query.get("fields")
    if fields:
        wanted = {f.strip() for f in fields.split(",")} | {"id"}
        data = [{k: v for k, v in d.items() if k in wanted} for d in data]
    return json_response({"data": data, "info": {"per_page": per_page, "count": len(data),
                                                 "page": page, "more_records": more}})


def download_attachment(call: Call) -> Response:
    module = resolve_module(call)
    authorise(call, module, "READ", "view", "permission denied")
    rid = path_record_id(call)
    att_id = parse_record_id(call.path_params["attachment_id"])
    if att_id is None:
        raise InvalidData("the id given seems to be invalid", {"resource_path_index": 3})
    att, content = call.corral.attachments.download(module, rid, att_id)
    return Response(content, media_type=_download_type(att.content_type),
                    headers={"Content-Disposition": _disposition(att.file_name or str(att.id))})


# Types the official SDKs read as an API answer (JSON/XML/form) rather than as a file: such a
# file is served as application/octet-stream so the SDK hands over its bytes.
ANSWER_TYPES = frozenset({"application/json", "text/plain", "application/ld+json",
                          "application/xml", "text/xml", "multipart/form-data"})


def _download_type(stored: str | None) -> str:
    base = (stored or "").split(";")[0].strip().lower()
    return "application/octet-stream" if not base or base in ANSWER_TYPES else stored or ""


def _disposition(name: str) -> str:
    """`filename="…"` for plain ASCII names (the form the SDKs parse); other names also get
    RFC 6266's `filename*=UTF-8''…` (the SDKs then see the percent-encoded name)."""
    plain = name.isascii() and not any(c in name for c in "\"';=\\") and name.isprintable()
    if plain:
        return f'attachment; filename="{name}"'
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in "\"';=\\" else "_"
                       for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


def _delete(call: Call, raw_ids: list[str] | None) -> Response:
    module = resolve_module(call)
    principal = authorise(call, module, "DELETE", "edit", "permission denied")
    rid = path_record_id(call)
    path_form = raw_ids is not None
    if raw_ids is None:
        raw = call.query.get("ids")
        if not raw:
            raise RequiredParamMissing(details={"param_name": "ids"})
        raw_ids = [x.strip() for x in raw.split(",") if x.strip()]
        if len(raw_ids) > MAX_DELETE:
            raise InvalidData("ids limit exceeded", {"limit": MAX_DELETE})
    results = call.corral.attachments.delete(module, rid, raw_ids,
                                             WriteContext(principal, call.request_id))
    if path_form and results[0][1] is not None:
        # An id in the URL that names no attachment is a request-level error, as for every
        # id in a Zoho URL (attachments.json's 400 is a top-level error).
        err = results[0][1]
        if isinstance(err, InvalidData):
            raise InvalidData("the id given seems to be invalid", {"resource_path_index": 3})
        raise err
    data = [envelopes.success("record deleted", {"id": raw}) if err is None
            else envelopes.error_body(err) for raw, err in results]
    ok = any(err is None for _, err in results)
    return json_response({"data": data}, 200 if ok else 400)


def delete_attachment(call: Call) -> Response:
    return _delete(call, [call.path_params["attachment_id"]])


def delete_attachments(call: Call) -> Response:
    return _delete(call, None)
