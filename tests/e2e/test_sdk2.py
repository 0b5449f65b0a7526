"""The official v2 SDK (`zohocrmsdk2-0`, import name zcrmsdk) against a real `corral serve`.

The SDK lives in its own venv (.cache/sdk2-venv, see conftest.sdk2_python); sdk2_driver.py is
copied into tmp_path and run with that venv's python. It prints one JSON object describing what
the SDK made of each reply; the assertions are here. A reply the SDK could not convert shows up
as a missing step, an "error" (with the SDK traceback) or a wrong "type".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import Server, run_corral, run_sdk_driver, sdk_step

pytestmark = [pytest.mark.e2e, pytest.mark.sdk]

DRIVER = Path(__file__).with_name("sdk2_driver.py")
SCOPES = "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoSearch.securesearch.READ"
DRIVER_TIMEOUT = 120


def _success(entry: dict[str, Any], message: str) -> str:
    assert entry["__type__"] == "SuccessResponse", entry
    assert (entry["status"], entry["code"], entry["message"]) == ("success", "SUCCESS", message)
    record_id: str = entry["details"]["id"]
    assert record_id.isdigit(), entry
    assert entry["details"]["Created_By"]["__type__"] == "User", entry
    return record_id


def _by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(r["id"]): r for r in records}


def test_sdk2_records_fields_and_upsert(e2e_database_url: str, sdk2_python: Path,
                                        tmp_path: Path) -> None:
    url = e2e_database_url
    added = run_corral("field", "add", "Leads", "--api-name", "Ext_Ref", "--label", "Ext Ref",
                       "--type", "text", "--unique", "--database-url", url)
    assert added.returncode == 0, added.stderr
    made = run_corral("token", "create", "--scopes", SCOPES, "--database-url", url)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()

    with Server(url, tmp_path) as server:
        results = run_sdk_driver(sdk2_python, [DRIVER], server.base_url, token, tmp_path)

    # insert: one SuccessResponse per record, ids as digit strings
    insert = sdk_step(results, "insert", 201, "ActionWrapper")
    ids = [_success(e, "record added") for e in insert["data"]]
    assert len(ids) == 3 and results["ids"] == ids
    daly, boyle, kate = ids

    # get one: values converted per field metadata (user objects, pick list, numbers)
    (rec,) = sdk_step(results, "get_one", 200, "ResponseWrapper")["data"]
    assert str(rec["id"]) == daly
    assert rec["Full_Name"] == "Paul Daly" and rec["Email"] == "paul@zylker.com"
    assert rec["Owner"]["__type__"] == "User" and rec["Owner"]["email"] == "admin@corral.local"
    assert rec["Lead_Source"] == "Advertisement"
    assert rec["No_of_Employees"] == 12 and rec["Annual_Revenue"] == 1250.5
    assert rec["Email_Opt_Out"] is True and rec["Description"] == "line one\nline two"
    assert rec["Created_Time"][:4].isdigit() and rec["Created_Time"][-6] in "+-"
    many = sdk_step(results, "get_many", 200, "ResponseWrapper")
    assert set(_by_id(many["data"])) == set(ids)
    assert many["info"]["count"] == 3 and many["info"]["more_records"] is False

    # update one (PUT /Leads/{id}) and many (PUT /Leads, ids as JSON numbers)
    (entry,) = sdk_step(results, "update_one", 200, "ActionWrapper")["data"]
    assert _success(entry, "record updated") == daly
    update_many = sdk_step(results, "update_many", 200, "ActionWrapper")["data"]
    assert [_success(e, "record updated") for e in update_many] == [boyle, kate]
    after = _by_id(sdk_step(results, "after_update", 200, "ResponseWrapper")["data"])
    assert (after[daly]["Company"], after[daly]["Designation"]) == ("Zylker Corp", "CEO")
    assert after[boyle]["Company"] == "Boyle Inc"
    assert (after[kate]["Company"], after[kate]["No_of_Employees"]) == ("Kate Ltd", 7)

    # field metadata
    fields = {f["api_name"]: f for f in sdk_step(results, "fields", 200,
                                              "ResponseWrapper")["fields"]}
    for api_name, data_type in [("Last_Name", "text"), ("Email", "email"),
                                ("Owner", "ownerlookup"), ("Lead_Source", "picklist"),
                                ("Created_Time", "datetime"), ("Ext_Ref", "text")]:
        assert fields[api_name]["data_type"] == data_type, fields.get(api_name)
        assert isinstance(fields[api_name]["id"], int)

    # upsert without duplicate_check_fields: Email matched -> update, new email -> insert
    upd, ins = sdk_step(results, "upsert_default", 200, "ActionWrapper")["data"]
    assert _success(upd, "record updated") == daly
    assert (upd["action"], upd["duplicate_field"]) == ("update", "Email")
    assert _success(ins, "record added") not in ids
    assert (ins["action"], ins["duplicate_field"]) == ("insert", None)
    # upsert with duplicate_check_fields=["Ext_Ref"]
    upd, ins = sdk_step(results, "upsert_custom", 200, "ActionWrapper")["data"]
    assert _success(upd, "record updated") == boyle
    assert (upd["action"], upd["duplicate_field"]) == ("update", "Ext_Ref")
    assert _success(ins, "record added") not in ids
    assert (ins["action"], ins["duplicate_field"]) == ("insert", None)

    # search, delete
    found = sdk_step(results, "search_criteria", 200, "ResponseWrapper")["data"]
    assert [str(r["id"]) for r in found] == [daly] and found[0]["Designation"] == "CTO"
    found = sdk_step(results, "search_email", 200, "ResponseWrapper")["data"]
    assert [str(r["id"]) for r in found] == [kate]
    (entry,) = sdk_step(results, "delete", 200, "ActionWrapper")["data"]
    assert _success_delete(entry) == kate
    gone = results["get_deleted"]
    assert gone["type"] == "APIException" and gone["error"]["code"] == "INVALID_DATA", gone

    # another module: lookup field (the SDK fetches the target module's fields), bigint, date
    (entry,) = sdk_step(results, "insert_account", 201, "ActionWrapper")["data"]
    account = _success(entry, "record added")
    (entry,) = sdk_step(results, "insert_contact", 201, "ActionWrapper")["data"]
    _success(entry, "record added")
    (contact,) = sdk_step(results, "get_contact", 200, "ResponseWrapper")["data"]
    assert str(contact["Account_Name"]["id"]) == account
    assert contact["Account_Name"]["name"] == "Zylker"
    assert contact["Date_of_Birth"] == "1990-05-17"
    (acc,) = sdk_step(results, "get_account", 200, "ResponseWrapper")["data"]
    assert str(acc["Account_Number"]) == "12345678901234" and acc["Annual_Revenue"] == 99.0


def _success_delete(entry: dict[str, Any]) -> str:
    assert entry["__type__"] == "SuccessResponse", entry
    assert (entry["code"], entry["message"]) == ("SUCCESS", "record deleted"), entry
    record_id: str = entry["details"]["id"]
    return record_id
