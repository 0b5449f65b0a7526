# mypy: ignore-errors
"""Driver run by tests/e2e/test_emulator.py with the python of the zohocrmsdk8-0 venv.

Usage: python emulator_sdk8_driver.py BASE_URL ADMIN_TOKEN WORK_DIR

Drives a `corral serve --emulator` with the official v8 SDK: one insert, then (through the
control API) the credit allowance used up -> the SDK's next call; then a fault injected on
POST /crm/v8/Leads -> the SDK's next insert. Prints one JSON object on the last stdout line
with what the SDK made of each reply; the test asserts on it.
"""

import json
import os
import sys
import traceback
import urllib.request

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.record import (
    BodyWrapper,
    GetRecordsParam,
    Record,
    RecordOperations,
)
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig


def control(base_url, token, method, path, body):
    req = urllib.request.Request(base_url + path, data=json.dumps(body).encode(), method=method,
                                 headers={"Authorization": f"Zoho-oauthtoken {token}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status


def reply(response):
    if response is None:
        return {"status_code": None}
    obj = response.get_object()
    out = {"status_code": response.get_status_code(), "type": type(obj).__name__}
    if type(obj).__name__ == "APIException":
        out["code"] = obj.get_code().get_value() if obj.get_code() else None
        out["message"] = obj.get_message().get_value() if obj.get_message() else None
    return out


def insert(ops, name):
    record = Record()
    record.add_key_value("Last_Name", name)
    wrapper = BodyWrapper()
    wrapper.set_data([record])
    return reply(ops.create_records(wrapper))


def run(base_url, token, work, results):
    env = DataCenter.Environment(base_url, base_url + "/oauth/v2/token", base_url)
    Initializer.initialize(
        environment=env, token=OAuthToken(access_token=token),
        store=FileStore(os.path.join(work, "tokens.csv")),
        sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
        resource_path=work,
        logger=Logger.get_instance(Logger.Levels.INFO, os.path.join(work, "sdk.log")))
    ops = RecordOperations("Leads")
    results["first_insert"] = insert(ops, "Before limits")
    results["limits_status"] = control(base_url, token, "PUT", "/__corral/limits",
                                       {"edition": "free", "used": 5000})
    params = ParameterMap()
    params.add(GetRecordsParam.fields, "Last_Name")
    results["over_credits"] = reply(ops.get_records(params))
    control(base_url, token, "PUT", "/__corral/limits", {"edition": None})
    results["fault_status"] = control(base_url, token, "POST", "/__corral/faults",
                                      {"method": "POST", "path": "/crm/v8/Leads",
                                       "status": 500, "times": 1})
    results["faulted_insert"] = insert(ops, "Never written")
    results["after_fault"] = reply(ops.get_records(params))


def main():
    base_url, token, work = sys.argv[1:4]
    results = {}
    try:
        run(base_url, token, work, results)
    except BaseException as exc:  # report, the test decides
        results["error"] = {"type": type(exc).__name__, "text": str(exc),
                            "traceback": traceback.format_exc()}
    sys.stdout.write("\n" + json.dumps(results, default=repr) + "\n")


if __name__ == "__main__":
    main()
