# mypy: ignore-errors
"""Driver run by tests/e2e/test_sdk2_mass_update.py with the python of the zohocrmsdk2-0 venv.

Usage: python sdk2_mass_update_driver.py BASE_URL ACCESS_TOKEN WORK_DIR

Needs sdk2_driver.py next to it (its reply helpers are reused). Drives a running Corral's mass
update with the official v2 SDK: RecordOperations.mass_update_records by ids and by cvid, and
get_mass_update_status until the job completes. Prints one JSON object (the last line of stdout)
describing what the SDK made of every reply; never asserts: an SDK exception is recorded under
"error" with its traceback.
"""

import json
import os
import sys
import time
import traceback

from zcrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zcrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zcrmsdk.src.com.zoho.api.logger import Logger
from zcrmsdk.src.com.zoho.crm.api import ParameterMap
from zcrmsdk.src.com.zoho.crm.api.custom_views import CustomViewsOperations
from zcrmsdk.src.com.zoho.crm.api.dc import DataCenter
from zcrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zcrmsdk.src.com.zoho.crm.api.record import (
    Field,
    GetMassUpdateStatusParam,
    GetRecordsParam,
    MassUpdateBodyWrapper,
    Record,
    RecordOperations,
)
from zcrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zcrmsdk.src.com.zoho.crm.api.user_signature import UserSignature
from zcrmsdk.src.com.zoho.crm.api.util import Choice

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sdk2_driver import action_entry, body, ids_of, lead, plain, reply

MODULE = "Leads"
UNKNOWN_ID = 1234567890123456789
JOB_TIMEOUT = 90.0


def mass_reply(response):
    """APIResponse of mass_update_records / get_mass_update_status -> JSON-able dict."""
    if response is None:
        return {"status_code": None, "type": None}
    obj = response.get_object()
    out = {"status_code": response.get_status_code(), "type": type(obj).__name__}
    if obj is None:
        return out
    if type(obj).__name__ == "APIException":
        out["error"] = action_entry(obj)
        return out
    entries = []
    for entry in obj.get_data() or []:
        if type(entry).__name__ == "MassUpdate":
            status = entry.get_status()
            entries.append({"__type__": "MassUpdate",
                            "Status": status.get_value() if isinstance(status, Choice)
                            else status,
                            "Total_Count": entry.get_total_count(),
                            "Updated_Count": entry.get_updated_count(),
                            "Not_Updated_Count": entry.get_not_updated_count(),
                            "Failed_Count": entry.get_failed_count()})
        else:  # MassUpdateSuccessResponse or APIException
            entries.append(action_entry(entry))
    out["data"] = entries
    return out


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


def status_of(ops, job_id):
    params = ParameterMap()
    params.add(GetMassUpdateStatusParam.job_id, job_id)
    return mass_reply(ops.get_mass_update_status(MODULE, params))


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

    leads = []
    for i in range(6):
        record = lead(Last_Name=f"Mass{i}", Company="Zylker")
        record.add_field_value(Field.Leads.lead_status(), Choice("Not Contacted"))
        leads.append(record)
    results["insert"] = created = reply(ops.create_records(MODULE, body(leads)))
    ids = ids_of(created)
    results["ids"] = [str(i) for i in ids]
    if len(ids) != 6:
        return

    # instant mode: three ids (the SDK sends them as JSON numbers) and one unknown id
    results["by_ids"] = mass_reply(ops.mass_update_records(MODULE, mass_body(
        Field.Leads.lead_status(), "Contacted", ids=[ids[0], ids[1], ids[2], UNKNOWN_ID])))
    params = ParameterMap()
    params.add(GetRecordsParam.ids, ",".join(str(i) for i in ids))
    results["after_ids"] = reply(ops.get_records(MODULE, params))

    # scheduled mode: the "All Leads" view's id from the custom views API
    views = CustomViewsOperations(MODULE).get_custom_views()
    views_obj = views.get_object() if views is not None else None
    listed = views_obj.get_custom_views() if hasattr(views_obj, "get_custom_views") else None
    results["views"] = [{"id": v.get_id(), "name": v.get_name(),
                         "system_name": v.get_system_name()} for v in (listed or [])]
    cvid = next((v.get_id() for v in listed or [] if v.get_name() == "All Leads"), None)
    if cvid is None:
        return
    results["by_cvid"] = scheduled = mass_reply(ops.mass_update_records(MODULE, mass_body(
        Field.Leads.rating(), "Active", cvid=str(cvid))))
    entries = scheduled.get("data") or []
    job_id = (entries[0].get("details") or {}).get("job_id") if entries else None
    results["job_id"] = job_id
    if job_id is None:
        return
    # at once again on the same view: ALREADY_SCHEDULED (202) unless the worker was quicker
    results["again"] = mass_reply(ops.mass_update_records(MODULE, mass_body(
        Field.Leads.rating(), "Active", cvid=str(cvid))))
    polls = []
    deadline = time.monotonic() + JOB_TIMEOUT
    while True:
        got = status_of(ops, str(job_id))
        polls.append(got)
        entries = got.get("data") or []
        status = entries[0].get("Status") if entries else None
        if status in ("COMPLETED", "FAILED") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    results["polls"] = polls
    params = ParameterMap()
    params.add(GetRecordsParam.ids, ",".join(str(i) for i in ids))
    results["after_cvid"] = reply(ops.get_records(MODULE, params))

    # an unknown job id: 404 NOT_FOUND comes back as an error object
    results["unknown_job"] = status_of(ops, str(UNKNOWN_ID))


def main():
    base_url, token, work = sys.argv[1:4]
    results = {}
    try:
        run(base_url, token, work, results)
    except BaseException as exc:  # noqa: BLE001  (report, the test decides)
        results["error"] = {"type": type(exc).__name__, "text": str(exc),
                            "traceback": traceback.format_exc()}
        details = getattr(exc, "details", None)
        if details is not None:
            results["error"]["details"] = plain(details)
    sys.stdout.write("\n" + json.dumps(results, default=repr) + "\n")


if __name__ == "__main__":
    main()
