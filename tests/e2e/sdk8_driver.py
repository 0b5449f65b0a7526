# mypy: ignore-errors
"""Driver run by tests/e2e/test_sdk8.py with the python of the zohocrmsdk8-0 venv (not pytest's).

Usage: python sdk8_driver.py BASE_URL AUTH_JSON WORK_DIR [STEP ...]

AUTH_JSON is {"access_token": ...}, {"client_id", "client_secret", "grant_token"} or
{"client_id", "client_secret", "refresh_token"} (the SDK then exchanges the grant, or refreshes,
at BASE_URL/oauth/v2/token itself). Drives a running Corral with the official
v8 SDK (import name zohocrmsdk, paths /crm/v8/...) and prints one JSON object (the last line of
stdout) describing what the SDK made of every reply; the test asserts on it. Never asserts
itself: an SDK exception is recorded under "error" with its traceback.

Each feature is one step function registered in STEPS (records, fields, users, ...): a new
feature is a new `step_xxx(ctx, results)` plus its name on the test's command line. Steps share
`ctx` (e.g. ctx["lead_ids"] set by the records step).
"""

import datetime
import json
import os
import sys
import time
import traceback

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.custom_views import (
    CustomViewsOperations,
    GetCustomViewsParam,
)
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.fields import FieldsOperations, GetFieldsParam
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.record import (
    BodyWrapper,
    DeleteRecordsParam,
    Field,
    GetMassUpdateStatusParam,
    GetRecordsParam,
    MassUpdateBodyWrapper,
    Record,
    RecordOperations,
    SearchRecordsParam,
)
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.users import GetUsersParam, UsersOperations
from zohocrmsdk.src.com.zoho.crm.api.util import Choice

MODULE = "Leads"
UNKNOWN_ID = "1234567890123456789"
JOB_TIMEOUT = 90.0


def plain(value, depth=0):
    """SDK objects -> JSON-able values (enough to assert on)."""
    if depth > 6:
        return repr(value)
    if isinstance(value, Choice):
        return plain(value.get_value(), depth + 1)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "get_key_values"):  # Record and its subclasses
        key_values = value.get_key_values()
        out = plain(key_values, depth + 1)
        out["__type__"] = type(value).__name__
        out["__pytypes__"] = {k: type(v).__name__ for k, v in key_values.items()}
        return out
    if type(value).__module__.startswith("zohocrmsdk."):  # other SDK models: their getters
        out = {"__type__": type(value).__name__}
        for name in dir(value):
            if name.startswith("get_") and callable(getattr(value, name)):
                try:
                    got = getattr(value, name)()
                except TypeError:
                    continue
                if got is not None:
                    out[name[4:]] = plain(got, depth + 1)
        return out
    return {"__type__": type(value).__name__, "repr": repr(value)}


def action_entry(entry):
    """A SuccessResponse or APIException from an ActionWrapper's data."""
    out = {"__type__": type(entry).__name__}
    for key in ("status", "code", "message", "details", "action", "duplicate_field"):
        getter = getattr(entry, "get_" + key, None)
        if getter is not None:
            out[key] = plain(getter())
    return out


def reply(response):
    """APIResponse -> {"status_code", "type", ...} with the parsed content."""
    if response is None:
        return {"status_code": None, "type": None}
    obj = response.get_object()
    out = {"status_code": response.get_status_code(), "type": type(obj).__name__}
    if obj is None:
        return out
    if type(obj).__name__ == "APIException":
        out["error"] = action_entry(obj)
        return out
    if hasattr(obj, "get_fields"):  # fields ResponseWrapper
        out["fields"] = [{"api_name": f.get_api_name(), "data_type": f.get_data_type(),
                          "id": f.get_id()} for f in (obj.get_fields() or [])]
        return out
    if hasattr(obj, "get_users"):  # users ResponseWrapper
        out["users"] = [plain(u) for u in (obj.get_users() or [])]
    if hasattr(obj, "get_custom_views"):  # custom views ResponseWrapper
        out["custom_views"] = [plain(v) for v in (obj.get_custom_views() or [])]
    data = obj.get_data() if hasattr(obj, "get_data") else None
    if type(obj).__name__.endswith("ActionWrapper"):  # ActionWrapper, MassUpdateActionWrapper
        out["data"] = [action_entry(e) for e in (data or [])]
    elif data is not None:
        out["data"] = [plain(r) for r in data]
    info = obj.get_info() if hasattr(obj, "get_info") else None
    if info is not None:
        out["info"] = {key: plain(getattr(info, "get_" + key)())
                       for key in ("count", "page", "per_page", "more_records",
                                   "next_page_token", "previous_page_token")
                       if hasattr(info, "get_" + key)}
    return out


def lead(**values):
    record = Record()
    for key, value in values.items():
        if key == "id":
            record.set_id(value)
        elif key == "Lead_Source":
            record.add_field_value(Field.Leads.lead_source(), Choice(value))
        else:
            record.add_key_value(key, value)
    return record


def ref(record_id):
    """A lookup value: a Record carrying only its id."""
    record = Record()
    record.set_id(record_id)
    return record


def body(records, duplicate_check_fields=None):
    wrapper = BodyWrapper()
    wrapper.set_data(records)
    if duplicate_check_fields is not None:
        wrapper.set_duplicate_check_fields(duplicate_check_fields)
    return wrapper


def ids_of(result):
    return [int(e["details"]["id"]) for e in result.get("data", [])
            if e.get("status") == "success"]


def params(*pairs):
    param_map = ParameterMap()
    for param, value in pairs:
        param_map.add(param, value)
    return param_map


# ----------------------------------------------------------------------------- steps


def step_records(ctx, results):
    """Insert, get, update (one and many), upsert (default and custom key), search, delete;
    then Accounts + Contacts with a lookup, a bigint and a date."""
    ops = RecordOperations(MODULE)
    results["insert"] = created = reply(ops.create_records(body([
        lead(Last_Name="Daly", First_Name="Paul", Email="paul@zylker.com", Company="Zylker",
             Lead_Source="Advertisement", No_of_Employees=12, Annual_Revenue=1250.5,
             Email_Opt_Out=True, Phone="+1 555 0100", Website="https://zylker.com",
             Description="line one\nline two"),
        lead(Last_Name="Boyle", Email="patricia@zylker.com", Company="Zylker",
             Ext_Ref="EXT-1"),
        lead(Last_Name="Kate", Email="kate@zylker.com", Company="Acme"),
    ])))
    ids = ids_of(created)
    ctx["lead_ids"] = ids
    results["ids"] = [str(i) for i in ids]
    if len(ids) != 3:
        return
    id_list = ",".join(str(i) for i in ids)

    results["get_one"] = reply(ops.get_record(ids[0]))
    results["get_many"] = reply(ops.get_records(params((GetRecordsParam.ids, id_list))))

    results["update_one"] = reply(ops.update_record(ids[0], body([
        lead(Company="Zylker Corp", Designation="CEO")])))
    results["update_many"] = reply(ops.update_records(body([
        lead(id=ids[1], Company="Boyle Inc"),
        lead(id=ids[2], Company="Kate Ltd", No_of_Employees=7),
    ])))
    results["after_update"] = reply(ops.get_records(params((GetRecordsParam.ids, id_list))))

    results["upsert_default"] = reply(ops.upsert_records(body([
        lead(Last_Name="Daly", Email="paul@zylker.com", Designation="CTO"),
        lead(Last_Name="New", Email="new@zylker.com"),
    ])))
    results["upsert_custom"] = reply(ops.upsert_records(body([
        lead(Last_Name="Boyle", Ext_Ref="EXT-1", Designation="VP"),
        lead(Last_Name="Other", Ext_Ref="EXT-2"),
    ], duplicate_check_fields=["Ext_Ref"])))

    results["search_criteria"] = reply(ops.search_records(params(
        (SearchRecordsParam.criteria, "(Company:equals:Zylker Corp)"))))
    results["search_email"] = reply(ops.search_records(params(
        (SearchRecordsParam.email, "kate@zylker.com"))))
    results["delete"] = reply(ops.delete_records(params((DeleteRecordsParam.ids, str(ids[2])))))
    results["get_deleted"] = reply(ops.get_record(ids[2]))

    results["insert_account"] = reply(RecordOperations("Accounts").create_records(body([
        lead(Account_Name="Zylker", Account_Number=12345678901234, Annual_Revenue=99.0)])))
    account_ids = ids_of(results["insert_account"])
    ctx["account_ids"] = account_ids
    if account_ids:
        results["insert_contact"] = reply(RecordOperations("Contacts").create_records(body([
            lead(Last_Name="Boyle", Account_Name=ref(account_ids[0]),
                 Date_of_Birth=datetime.date(1990, 5, 17))])))
        contact_ids = ids_of(results["insert_contact"])
        ctx["contact_ids"] = contact_ids
        if contact_ids:
            results["get_contact"] = reply(RecordOperations("Contacts").get_record(
                contact_ids[0]))
        results["get_account"] = reply(RecordOperations("Accounts").get_record(account_ids[0]))


def step_fields(ctx, results):
    """GET /settings/fields?module=Leads."""
    results["fields"] = reply(FieldsOperations().get_fields(params(
        (GetFieldsParam.module, MODULE))))


def step_users(ctx, results):
    """GET /users?type=ActiveUsers, ?type=CurrentUser."""
    ops = UsersOperations()
    results["users_active"] = reply(ops.get_users(params((GetUsersParam.type, "ActiveUsers"))))
    results["users_current"] = reply(ops.get_users(params((GetUsersParam.type, "CurrentUser"))))


def mass_body(field, value, ids=None, cvid=None):
    record = Record()
    record.add_field_value(field, Choice(value))
    wrapper = MassUpdateBodyWrapper()
    wrapper.set_data([record])
    if ids is not None:
        wrapper.set_ids(ids)
    if cvid is not None:
        wrapper.set_cvid(cvid)
    return wrapper


def step_mass_update(ctx, results):
    """POST /Leads/actions/mass_update by ids (one unknown) and by the "All Leads" view's cvid
    (GET /settings/custom_views), then GET .../mass_update?job_id= until COMPLETED."""
    ops = RecordOperations(MODULE)
    leads = []
    for i in range(4):
        record = lead(Last_Name=f"Mass{i}", Company="Mass Inc")
        record.add_field_value(Field.Leads.lead_status(), Choice("Not Contacted"))
        leads.append(record)
    results["mass_insert"] = created = reply(ops.create_records(body(leads)))
    ids = [str(i) for i in ids_of(created)]
    results["mass_ids"] = ids
    if len(ids) != 4:
        return
    results["mass_by_ids"] = reply(ops.mass_update_records(mass_body(
        Field.Leads.lead_status(), "Contacted", ids=[*ids[:3], UNKNOWN_ID])))
    id_param = (GetRecordsParam.ids, ",".join(ids))
    results["mass_after_ids"] = reply(ops.get_records(params(id_param)))

    results["mass_views"] = views = reply(CustomViewsOperations().get_custom_views(params(
        (GetCustomViewsParam.module, MODULE))))
    cvid = next((str(v["id"]) for v in views.get("custom_views", [])
                 if v.get("name") == "All Leads"), None)
    if cvid is None:
        return
    results["mass_by_cvid"] = scheduled = reply(ops.mass_update_records(mass_body(
        Field.Leads.rating(), "Active", cvid=cvid)))
    entries = scheduled.get("data") or []
    job_id = (entries[0].get("details") or {}).get("job_id") if entries else None
    results["mass_job_id"] = job_id
    if job_id is None:
        return
    polls = []
    deadline = time.monotonic() + JOB_TIMEOUT
    while True:
        got = reply(ops.get_mass_update_status(params(
            (GetMassUpdateStatusParam.job_id, str(job_id)))))
        polls.append(got)
        status = (got.get("data") or [{}])[0].get("status")
        if status in ("COMPLETED", "FAILED") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    results["mass_polls"] = polls
    results["mass_after_cvid"] = reply(ops.get_records(params(id_param)))


STEPS = {
    "records": step_records,
    "fields": step_fields,
    "users": step_users,
    "mass_update": step_mass_update,
}


def token_from(auth):
    if "access_token" in auth:
        return OAuthToken(access_token=auth["access_token"])
    if "refresh_token" in auth:
        return OAuthToken(client_id=auth["client_id"], client_secret=auth["client_secret"],
                          refresh_token=auth["refresh_token"])
    return OAuthToken(client_id=auth["client_id"], client_secret=auth["client_secret"],
                      grant_token=auth["grant_token"],
                      redirect_url=auth.get("redirect_url"))


def run(base_url, auth, work, steps, results):
    env = DataCenter.Environment(base_url, base_url + "/oauth/v2/token", base_url)
    Initializer.initialize(
        environment=env, token=token_from(auth),
        store=FileStore(os.path.join(work, "tokens.csv")),
        sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=True),
        resource_path=work,
        logger=Logger.get_instance(Logger.Levels.INFO, os.path.join(work, "sdk.log")))
    ctx = {"base_url": base_url, "work": work}
    for name in steps:
        STEPS[name](ctx, results)
        results.setdefault("steps_done", []).append(name)


def main():
    base_url, auth, work = sys.argv[1:4]
    steps = sys.argv[4:] or list(STEPS)
    results = {}
    try:
        run(base_url, json.loads(auth), work, steps, results)
    except BaseException as exc:  # report, the test decides
        results["error"] = {"type": type(exc).__name__, "text": str(exc),
                            "traceback": traceback.format_exc()}
        details = getattr(exc, "details", None)
        if details is not None:
            results["error"]["details"] = plain(details)
    sys.stdout.write("\n" + json.dumps(results, default=repr) + "\n")


if __name__ == "__main__":
    main()
