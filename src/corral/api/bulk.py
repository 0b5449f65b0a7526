"""Bulk APIs: `/crm/{v}/upload` (feature bulk-write), Bulk Write and Bulk Read jobs and their
zipped CSV results."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response, StreamingResponse

from corral import envelopes
from corral.api.http import Call, json_response
from corral.api.records import module_scopes
from corral.auth.service import Principal
from corral.errors import (
    InvalidData,
    InvalidRequest,
    MandatoryNotFound,
    ModuleNotAvailable,
    NoPermission,
    ResourceNotFound,
    UnableToParseDataType,
)
from corral.metadata.model import Module
from corral.records import bulk_files as bf
from corral.records.bulk_write import MAX_ZIP, OPERATIONS, WriteSpec, callback_of, mappings_of
from corral.records.writes import WriteContext

WRITE_ACTIONS = {"insert": ("create",), "update": ("edit",), "upsert": ("create", "edit")}
WRITE_SCOPE_OPS = {"insert": "CREATE", "update": "UPDATE", "upsert": "CREATE"}


def _zip(name: str, chunks: Any) -> Response:
    return StreamingResponse(bf.zip_stream(f"{name}.csv", chunks),
                             media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="{name}.zip"'})


def _may_import(principal: Principal) -> None:
    mods = principal.permissions.get("modules", {})
    if not any("create" in acts or "edit" in acts for acts in mods.values()):
        raise NoPermission("permission denied", {"permissions": ["Crm_Implied_Import"]})


# ----------------------------------------------------------------------------- upload
def upload_file(call: Call) -> Response:
    principal = call.authenticate()
    principal.require_scope("ZohoFiles.files.CREATE", "ZohoCRM.bulk.CREATE")
    _may_import(principal)
    if call.upload is None and call.body.strip():
        raise UnableToParseDataType()  # a body that is not multipart/form-data
    if call.headers.get("feature") != "bulk-write" or not call.headers.get("x-crm-org"):
        raise InvalidRequest("check if headers [feature, X-CRM-ORG] are present and valid",
                             {"headers": ["feature", "X-CRM-ORG"]})
    upload = call.upload
    if upload is None or upload.content is None:
        raise MandatoryNotFound("the request does not contain any file",
                                {"param_name": "file"})
    file_id = call.corral.bulk_write.upload(upload.content, upload.file_name, principal)
    created = call.corral.bulk_write.clock()
    return json_response({"status": "success", "code": "FILE_UPLOAD_SUCCESS",
                          "message": "file uploaded.",
                          "details": {"file_id": str(file_id),
                                      "created_time": envelopes.format_time(
                                          created, call.corral.query.principal_tz(principal))}})


upload_file.reads_upload = True  # type: ignore[attr-defined]
upload_file.upload_limit = MAX_ZIP  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- bulk write
def _write_module(call: Call, body: Any) -> tuple[Module, dict[str, Any]]:
    res = body.get("resource") if isinstance(body, dict) else None
    if not isinstance(res, list) or not res:
        raise MandatoryNotFound("required key resource is not found in request body.",
                                {"api_name": "resource"})
    if len(res) != 1 or not isinstance(res[0], dict):
        raise InvalidData("only one resource of type data is supported",
                          {"api_name": "resource"})
    r = res[0]
    if r.get("type", "data") != "data":
        raise InvalidData(details={"api_name": "type"})
    mod = r.get("module")
    name = mod.get("api_name") if isinstance(mod, dict) else mod
    if not isinstance(name, str) or not name:
        raise MandatoryNotFound("required key module is not found in request body.",
                                {"api_name": "module"})
    call.corral.registry.refresh()
    module = call.corral.registry.get(name)
    if module is None:
        raise ModuleNotAvailable(f"Requested module '{name}' is not available.",
                                 {"api_name": "module"})
    return module, r


def create_write_job(call: Call) -> Response:
    principal = call.authenticate()
    principal.require_scope("ZohoCRM.bulk.CREATE")
    body = call.json()
    op = body.get("operation") if isinstance(body, dict) else None
    if op is None:
        raise MandatoryNotFound("required key operation is not found in request body.",
                                {"api_name": "operation"})
    if op not in OPERATIONS:
        raise InvalidData(details={"api_name": "operation", "supported": list(OPERATIONS)})
    module, res = _write_module(call, body)
    principal.require_scope(*module_scopes(module, WRITE_SCOPE_OPS[op]))
    for action in WRITE_ACTIONS[op]:
        principal.require_module_permission(module.api_name, action, "permission denied")
    callback = callback_of(body.get("callback"))
    service = call.corral.bulk_write
    encoding = body.get("character_encoding")
    file_name, header, rows = service.file_rows(
        res.get("file_id"), encoding if isinstance(encoding, str) else None)
    spec = WriteSpec(op, mappings_of(module, res.get("field_mappings"), header),
                     find_by=res.get("find_by"),
                     ignore_empty=bool(res.get("ignore_empty", body.get("ignore_empty"))))
    meta = {"file_id": str(res.get("file_id")), "file_name": file_name, "callback": callback,
            "character_encoding": encoding, "field_mappings": res.get("field_mappings"),
            "base_url": call.base_url, "version": call.version}
    job_id = service.schedule(module, spec, header, rows,
                              WriteContext(principal, call.request_id), meta)
    users = call.corral.query.users()
    return json_response({"status": "success", "code": "SUCCESS", "message": "success",
                          "details": {"id": str(job_id), "created_by": envelopes.user_ref(
                              users.get(principal.user.id), email=False)}}, 201)


def _job_module_view(call: Call, module_id: int) -> None:
    module = call.corral.registry.by_id(module_id)
    if module is not None:
        call.authenticate().require_module_permission(module.api_name, "view",
                                                      "permission denied")


def get_write_job(call: Call) -> Response:
    call.authenticate().require_scope("ZohoCRM.bulk.READ", "ZohoCRM.bulk.CREATE")
    job = call.corral.bulk_write.job(call.path_params["job_id"])
    _job_module_view(call, job.module_id)
    return json_response(call.corral.bulk_write.details(job, call.base_url))


def download_write_result(call: Call) -> Response:
    call.authenticate().require_scope("ZohoCRM.bulk.READ", "ZohoCRM.bulk.CREATE")
    service = call.corral.bulk_write
    job = service.job(call.path_params["job_id"])
    _job_module_view(call, job.module_id)
    if job.status != "COMPLETED":
        raise ResourceNotFound("the result is not ready", {"resource": "result"})
    module = call.corral.registry.by_id(job.module_id)
    name = f"{module.api_name if module else 'Module'}-{job.id}"
    return _zip(name, service.result_chunks(job))


# ----------------------------------------------------------------------------- bulk read
def create_read_job(call: Call) -> Response:
    principal = call.authenticate()
    principal.require_scope("ZohoCRM.bulk.READ")
    body = call.json()
    if not isinstance(body, dict) or not body:
        raise MandatoryNotFound("required key query is not found in request body.",
                                {"api_name": "query"})
    service = call.corral.bulk_read
    module = service.module_of(body)
    principal.require_scope(*module_scopes(module, "READ"))
    principal.require_module_permission(module.api_name, "view", "permission denied")
    job = service.create(body, principal, {"version": call.version}, call.request_id)
    users = call.corral.query.users()
    tz = call.corral.query.principal_tz(principal)
    details = {"id": str(job.id), "operation": "read", "state": "ADDED",
               "created_by": envelopes.user_ref(users.get(principal.user.id), email=False),
               "created_time": envelopes.format_time(job.created_time, tz)}
    return json_response({"data": [{"status": "success", "code": "ADDED_SUCCESSFULLY",
                                    "message": "Added successfully.", "details": details}],
                          "info": {}}, 201)


def get_read_job(call: Call) -> Response:
    call.authenticate().require_scope("ZohoCRM.bulk.READ")
    job = call.corral.bulk_read.job(call.path_params["job_id"])
    _job_module_view(call, job.module_id)
    return json_response({"data": [call.corral.bulk_read.details(job)]})


def download_read_result(call: Call) -> Response:
    call.authenticate().require_scope("ZohoCRM.bulk.READ")
    service = call.corral.bulk_read
    job = service.job(call.path_params["job_id"], status=400)
    _job_module_view(call, job.module_id)
    if job.status != "COMPLETED":
        raise ResourceNotFound("the result is not ready", {"resource": "result"})
    return _zip(str(job.id), service.result_chunks(job))
