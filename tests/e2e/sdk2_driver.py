# mypy: ignore-errors
"""Driver run by tests/e2e/test_sdk2.py with the python of the zohocrmsdk2-0 venv (not pytest's).

Usage: python sdk2_driver.py BASE_URL ACCESS_TOKEN WORK_DIR

Drives a running Corral with the official v2 SDK (import name zcrmsdk) and prints one JSON object
(the last line of stdout) describing what the SDK made of every reply; the test asserts on it.
Never asserts itself: an SDK exception is recorded under "error" with its traceback.
"""

import datetime
import json
import os
import sys
import traceback

from zcrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zcrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zcrmsdk.src.com.zoho.api.logger import Logger
from zcrmsdk.src.com.zoho.crm.api import ParameterMap
from zcrmsdk.src.com.zoho.crm.api.dc import DataCenter
from zcrmsdk.src.com.zoho.crm.api.fields import FieldsOperations
from zcrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zcrmsdk.src.com.zoho.crm.api.record import (
    BodyWrapper,
    DeleteRecordsParam,
    Field,
    GetRecordsParam,
    Record,
    RecordOperations,
    SearchRecordsParam,
)
from zcrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zcrmsdk.src.com.zoho.crm.api.user_signature import UserSignature
from zcrmsdk.src.com.zoho.crm.api.util import Choice

MODULE = "Leads"


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
    if hasattr(value, "get_key_values"):  # Record and its subclasses (User, ...)
        out = plain(value.get_key_values(), depth + 1)
        out["__type__"] = type(value).__name__
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
    data = obj.get_data() if hasattr(obj, "get_data") else None
    if type(obj).__name__ == "ActionWrapper":
        out["data"] = [action_entry(e) for e in (data or [])]
    else:
        out["data"] = [plain(r) for r in (data or [])]
        info = obj.get_info() if hasattr(obj, "get_info") else None
        if info is not None:
            out["info"] = {"count": info.get_count(), "page": info.get_page(),
                           "per_page": info.get_per_page(),
                           "more_records": info.get_more_records()}
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


def run(base_url, token, work, results):
    env = DataCenter.Environment(base_url, base_url + "/oauth/v2/token", base_url, "corral")
    Initializer.initialize(
        user=UserSignature("admin@corral.local"), environment=env,
        token=OAuthToken(access_token=token),
        store=FileStore(os.path.join(work, "tokens.csv")),
        sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=True),
        resource_path=work,
        logger=Logger.get_instance(Logger.Levels.INFO, os.path.join(work, "sdk.log")))
    ops = RecordOperations()

    # insert three leads (one with a pick list value and a number)
    results["insert"] = created = reply(ops.create_records(MODULE, body([
        lead(Last_Name="Daly", First_Name="Paul", Email="paul@zylker.com", Company="Zylker",
             Lead_Source="Advertisement", No_of_Employees=12, Annual_Revenue=1250.5,
             Email_Opt_Out=True, Phone="+1 555 0100", Website="https://zylker.com",
             Description="line one\nline two"),
        lead(Last_Name="Boyle", Email="patricia@zylker.com", Company="Zylker",
             Ext_Ref="EXT-1"),
        lead(Last_Name="Kate", Email="kate@zylker.com", Company="Acme"),
    ])))
    ids = ids_of(created)
    results["ids"] = [str(i) for i in ids]
    if len(ids) != 3:
        return

    # get one, get several
    results["get_one"] = reply(ops.get_record(ids[0], MODULE))
    params = ParameterMap()
    params.add(GetRecordsParam.ids, ",".join(str(i) for i in ids))
    results["get_many"] = reply(ops.get_records(MODULE, params))

    # update one (PUT /Leads/{id}) and many (PUT /Leads with numeric ids)
    results["update_one"] = reply(ops.update_record(ids[0], MODULE, body([
        lead(Company="Zylker Corp", Designation="CEO")])))
    results["update_many"] = reply(ops.update_records(MODULE, body([
        lead(id=ids[1], Company="Boyle Inc"),
        lead(id=ids[2], Company="Kate Ltd", No_of_Employees=7),
    ])))
    params = ParameterMap()
    params.add(GetRecordsParam.ids, ",".join(str(i) for i in ids))
    results["after_update"] = reply(ops.get_records(MODULE, params))

    # field metadata
    results["fields"] = reply(FieldsOperations(MODULE).get_fields())

    # upsert without duplicate_check_fields: Email (system duplicate check) decides
    results["upsert_default"] = reply(ops.upsert_records(MODULE, body([
        lead(Last_Name="Daly", Email="paul@zylker.com", Designation="CTO"),
        lead(Last_Name="New", Email="new@zylker.com"),
    ])))
    # upsert with duplicate_check_fields=[Ext_Ref] (a custom unique field)
    results["upsert_custom"] = reply(ops.upsert_records(MODULE, body([
        lead(Last_Name="Boyle", Ext_Ref="EXT-1", Designation="VP"),
        lead(Last_Name="Other", Ext_Ref="EXT-2"),
    ], duplicate_check_fields=["Ext_Ref"])))

    # search and delete
    params = ParameterMap()
    params.add(SearchRecordsParam.criteria, "(Company:equals:Zylker Corp)")
    results["search_criteria"] = reply(ops.search_records(MODULE, params))
    params = ParameterMap()
    params.add(SearchRecordsParam.email, "kate@zylker.com")
    results["search_email"] = reply(ops.search_records(MODULE, params))
    params = ParameterMap()
    params.add(DeleteRecordsParam.ids, str(ids[2]))
    results["delete"] = reply(ops.delete_records(MODULE, params))
    results["get_deleted"] = reply(ops.get_record(ids[2], MODULE))

    # another module with a lookup, a bigint and a date (the SDK also fetches the lookup's
    # module fields)
    results["insert_account"] = reply(ops.create_records("Accounts", body([
        lead(Account_Name="Zylker", Account_Number="12345678901234", Annual_Revenue=99.0)])))
    account_ids = ids_of(results["insert_account"])
    if account_ids:
        results["insert_contact"] = reply(ops.create_records("Contacts", body([
            lead(Last_Name="Boyle", Account_Name=ref(account_ids[0]),
                 Date_of_Birth=datetime.date(1990, 5, 17))])))
        contact_ids = ids_of(results["insert_contact"])
        if contact_ids:
            results["get_contact"] = reply(ops.get_record(contact_ids[0], "Contacts"))
        results["get_account"] = reply(ops.get_record(account_ids[0], "Accounts"))


def main():
    base_url, token, work = sys.argv[1:4]
    results = {}
    try:
        run(base_url, token, work, results)
    except BaseException as exc:  # report, the test decides
        results["error"] = {"type": type(exc).__name__, "text": str(exc),
                            "traceback": traceback.format_exc()}
        details = getattr(exc, "details", None)
        if details is not None:
            results["error"]["details"] = plain(details)
    sys.stdout.write("\n" + json.dumps(results, default=repr) + "\n")


if __name__ == "__main__":
    main()
