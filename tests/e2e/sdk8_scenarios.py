"""What the official v8 SDKs (Python `zohocrmsdk8-0`, Node.js `@zohocrm/nodejs-sdk-8.0`) must
make of Corral's replies: one `check_<step>` per driver step, shared by test_sdk8.py and
test_node_sdk8.py.

Both drivers print the same step names and shapes (see sdk8_driver.py, node_sdk8_driver.mjs);
the differences are the language's types, named in `Lang`: each record value's type travels
in `__pytypes__` (Python) or `__jstypes__` (Node: bigint ids, Date datetimes). A new feature
(related records, notes, tags, attachments, page_token listing, users CRUD) is a new step in
both drivers plus a `check_<step>` here, its name added to the tests' `steps`. The SDK calls
those steps will make (Python name; Node is the camelCase twin on the same class):

- related records: `RelatedRecordsOperations(related_list, module)` `.get_related_records(id)`
  (GET /{module}/{id}/{related_list}), `.update_related_records(id, BodyWrapper)` (PUT, links),
  `.get_related_record(rel_id, id)`, `.delink_record(rel_id, id)`, `.delink_records(id, ids=)`.
- notes: `NotesOperations()` `.create_notes(BodyWrapper)` (POST /Notes, `Parent_Id` a Record and
  `se_module`), `.get_notes()`, `.get_note(id)`, `.update_note(id, ...)`, `.delete_notes(ids=)`;
  a record's notes as related list "Notes".
- tags: `TagsOperations()` `.create_tags(BodyWrapper, module=)` / `.get_tags(module=)`
  (/settings/tags), `.add_tags(module, id, BodyWrapper)` / `.remove_tags(...)`
  (POST /{module}/{id}/actions/add_tags), `.add_tags_to_multiple_records(module, ...)`.
- attachments: `AttachmentsOperations()` `.upload_attachments(id, module, FileBodyWrapper(
  StreamWrapper(file_path=...)))` (multipart/form-data POST, part `file`),
  `.get_attachments(id, module, fields=)`, `.get_attachment(att_id, id, module)` (the download:
  a FileBodyWrapper whose stream the driver writes to WORK and hashes for the byte-identical
  check), `.delete_attachment(att_id, id, module)`.
- users CRUD: `UsersOperations()` `.create_users(BodyWrapper)`, `.get_user(id)`,
  `.update_user(id, ...)`, `.delete_user(id)`.
- page_token listing: `RecordOperations(module).get_records(fields=, per_page=200,
  page_token=)` following `info.get_next_page_token()` while `more_records` (2,500 records
  inserted 100 per call first; the check compares the id sets and counts).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.e2e.helpers import run_corral, sdk_step

# Scopes of the grant the SDKs exchange at /oauth/v2/token.
SCOPES = ("ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.ALL,ZohoCRM.org.ALL,"
          "ZohoCRM.mass_update.ALL,ZohoSearch.securesearch.READ")
ADMIN_EMAIL = "admin@corral.local"


@dataclass(frozen=True)
class Lang:
    """Type names of one SDK's language for the values it converted."""

    name: str
    types_key: str
    bigint: str      # record ids, bigint fields
    integer: str
    decimal: str
    boolean: str
    datetime: str
    date: str


PYTHON = Lang("python", "__pytypes__", bigint="int", integer="int", decimal="float",
              boolean="bool", datetime="datetime", date="date")
NODE = Lang("node", "__jstypes__", bigint="bigint", integer="number", decimal="number",
            boolean="boolean", datetime="Date", date="Date")


def prepare_database(url: str) -> None:
    """Schema the scenarios need beyond the seed: a unique custom field for upserts."""
    added = run_corral("field", "add", "Leads", "--api-name", "Ext_Ref", "--label", "Ext Ref",
                       "--type", "text", "--unique", "--database-url", url)
    assert added.returncode == 0, added.stderr


def key(obj: dict[str, Any], name: str) -> Any:
    """obj[name] where Python getters give snake_case and Node getters camelCase."""
    if name in obj:
        return obj[name]
    head, *rest = name.split("_")
    camel = head + "".join(part.title() for part in rest)
    assert camel in obj, f"neither {name} nor {camel} in {json.dumps(obj)[:1500]}"
    return obj[camel]


def _success(entry: dict[str, Any], message: str) -> str:
    assert entry["__type__"] == "SuccessResponse", entry
    assert (entry["status"], entry["code"], entry["message"]) == ("success", "SUCCESS", message)
    record_id = str(entry["details"]["id"])
    assert record_id.isdigit(), entry
    assert entry["details"]["Created_By"]["__type__"] == "MinifiedUser", entry
    return record_id


def _by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(r["id"]): r for r in records}


def _types(record: dict[str, Any], lang: Lang) -> dict[str, str]:
    types: dict[str, str] = record[lang.types_key]
    return types


def check_records(results: dict[str, Any], lang: Lang) -> None:
    insert = sdk_step(results, "insert", 201, "ActionWrapper")
    ids = [_success(e, "record added") for e in insert["data"]]
    assert len(ids) == 3 and results["ids"] == ids
    daly, boyle, kate = ids

    # get one: values converted per field metadata (users, pick list, numbers, datetimes)
    (rec,) = sdk_step(results, "get_one", 200, "ResponseWrapper")["data"]
    types = _types(rec, lang)
    assert str(rec["id"]) == daly and types["id"] == lang.bigint
    assert rec["Full_Name"] == "Paul Daly" and rec["Email"] == "paul@zylker.com"
    assert types["Owner"] == "MinifiedUser" and rec["Owner"]["email"] == ADMIN_EMAIL
    assert rec["Owner"]["name"] == "Corral Admin" and str(rec["Owner"]["id"]).isdigit()
    assert rec["Lead_Source"] == "Advertisement" and types["Lead_Source"] == "Choice"
    assert rec["No_of_Employees"] == 12 and types["No_of_Employees"] == lang.integer
    assert rec["Annual_Revenue"] == 1250.5 and types["Annual_Revenue"] == lang.decimal
    assert rec["Email_Opt_Out"] is True and types["Email_Opt_Out"] == lang.boolean
    assert rec["Description"] == "line one\nline two"
    assert types["Created_Time"] == lang.datetime and rec["Created_Time"][:4].isdigit()
    many = sdk_step(results, "get_many", 200, "ResponseWrapper")
    assert set(_by_id(many["data"])) == set(ids)
    assert many["info"]["count"] == 3 and many["info"]["more_records"] is False

    # update one (PUT /Leads/{id}) and many (PUT /Leads, ids as strings in v8)
    (entry,) = sdk_step(results, "update_one", 200, "ActionWrapper")["data"]
    assert _success(entry, "record updated") == daly
    update_many = sdk_step(results, "update_many", 200, "ActionWrapper")["data"]
    assert [_success(e, "record updated") for e in update_many] == [boyle, kate]
    after = _by_id(sdk_step(results, "after_update", 200, "ResponseWrapper")["data"])
    assert (after[daly]["Company"], after[daly]["Designation"]) == ("Zylker Corp", "CEO")
    assert after[boyle]["Company"] == "Boyle Inc"
    assert (after[kate]["Company"], after[kate]["No_of_Employees"]) == ("Kate Ltd", 7)

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
    assert entry["__type__"] == "SuccessResponse", entry
    assert (entry["code"], entry["message"], str(entry["details"]["id"])) == (
        "SUCCESS", "record deleted", kate)
    gone = sdk_step(results, "get_deleted", 400, "APIException")
    assert gone["error"]["code"] == "INVALID_DATA", gone

    # another module: lookup (the SDK fetches the target module's fields), bigint, date
    (entry,) = sdk_step(results, "insert_account", 201, "ActionWrapper")["data"]
    account = _success(entry, "record added")
    (entry,) = sdk_step(results, "insert_contact", 201, "ActionWrapper")["data"]
    _success(entry, "record added")
    (contact,) = sdk_step(results, "get_contact", 200, "ResponseWrapper")["data"]
    assert _types(contact, lang)["Account_Name"] == "Record"
    assert str(contact["Account_Name"]["id"]) == account
    assert contact["Account_Name"]["name"] == "Zylker"
    assert _types(contact, lang)["Date_of_Birth"] == lang.date
    assert contact["Date_of_Birth"].startswith("1990-05-17")
    (acc,) = sdk_step(results, "get_account", 200, "ResponseWrapper")["data"]
    assert str(acc["Account_Number"]) == "12345678901234"
    assert _types(acc, lang)["Account_Number"] == lang.bigint
    assert acc["Annual_Revenue"] == 99.0


def check_fields(results: dict[str, Any], lang: Lang) -> None:
    fields = {f["api_name"]: f for f in sdk_step(results, "fields", 200,
                                              "ResponseWrapper")["fields"]}
    for api_name, data_type in [("Last_Name", "text"), ("Email", "email"),
                                ("Owner", "ownerlookup"), ("Lead_Source", "picklist"),
                                ("Created_Time", "datetime"), ("Ext_Ref", "text")]:
        assert fields[api_name]["data_type"] == data_type, fields.get(api_name)
        assert str(fields[api_name]["id"]).isdigit(), fields[api_name]
        if lang is NODE:
            assert fields[api_name]["id_type"] == "bigint", fields[api_name]
        else:
            assert isinstance(fields[api_name]["id"], int), fields[api_name]


def check_users(results: dict[str, Any], lang: Lang) -> None:
    active = sdk_step(results, "users_active", 200, "ResponseWrapper")
    (admin,) = [u for u in active["users"] if key(u, "email") == ADMIN_EMAIL]
    assert admin["__type__"] == "Users", admin
    assert str(admin["id"]).isdigit()
    assert key(admin, "full_name") == "Corral Admin" and key(admin, "status") == "active"
    assert key(admin, "profile")["name"] == "Administrator"
    assert key(admin, "role")["name"] == "CEO"
    assert active["info"]["count"] == len(active["users"])
    (current,) = sdk_step(results, "users_current", 200, "ResponseWrapper")["users"]
    assert str(current["id"]) == str(admin["id"])


def check_mass_update(results: dict[str, Any], lang: Lang) -> None:
    insert = sdk_step(results, "mass_insert", 201, "ActionWrapper")
    ids = [_success(e, "record added") for e in insert["data"]]
    assert ids == results["mass_ids"] and len(ids) == 4

    # by ids: three MassUpdateSuccessResponses, the unknown id an APIException {"id": ...}
    by_ids = sdk_step(results, "mass_by_ids", 207, "MassUpdateActionWrapper")["data"]
    assert len(by_ids) == 4, by_ids
    for entry, rid in zip(by_ids[:3], ids[:3], strict=True):
        assert entry["__type__"] == "MassUpdateSuccessResponse", entry
        assert (entry["status"], entry["code"], entry["message"]) == \
            ("success", "SUCCESS", "record updated"), entry
        assert str(entry["details"]["id"]) == rid, entry
        assert entry["details"]["Modified_By"]["__type__"] == "MinifiedUser", entry
    bad = by_ids[3]
    assert (bad["__type__"], bad["status"], bad["code"], bad["message"]) == (
        "APIException", "error", "INVALID_DATA", "the id given seems to be invalid"), bad
    assert {k: str(v) for k, v in bad["details"].items()} == {"id": "1234567890123456789"}
    after = _by_id(sdk_step(results, "mass_after_ids", 200, "ResponseWrapper")["data"])
    assert {rid: after[rid]["Lead_Status"] for rid in ids} == {
        **{rid: "Contacted" for rid in ids[:3]}, ids[3]: "Not Contacted"}

    # by cvid: the "All Leads" view read through the custom views API, a job id back
    views = sdk_step(results, "mass_views", 200, "ResponseWrapper")["custom_views"]
    (all_leads,) = [v for v in views if v["name"] == "All Leads"]
    assert key(all_leads, "system_name") == "ALLVIEWS" and str(all_leads["id"]).isdigit()
    (scheduled,) = sdk_step(results, "mass_by_cvid", 200, "MassUpdateActionWrapper")["data"]
    assert (scheduled["__type__"], scheduled["code"], scheduled["message"]) == (
        "MassUpdateSuccessResponse", "SUCCESS", "mass update scheduled successfully")
    assert str(results["mass_job_id"]).isdigit(), scheduled

    # status polls: MassUpdate objects with monotone progress, ending COMPLETED
    polls = results["mass_polls"]
    assert polls, results
    seen = []
    for got in polls:
        assert (got["status_code"], got["type"]) == (200, "MassUpdateResponseWrapper"), got
        (st,) = got["data"]
        assert st["__type__"] == "MassUpdate", st
        assert st["status"] in ("SCHEDULED", "RUNNING", "COMPLETED"), st
        total = key(st, "total_count")
        assert total == (key(st, "updated_count") + key(st, "not_updated_count")
                         + key(st, "failed_count")), st
        seen.append(key(st, "updated_count"))
    assert seen == sorted(seen), seen
    last = polls[-1]["data"][0]
    assert last["status"] == "COMPLETED", last
    assert key(last, "updated_count") == key(last, "total_count") >= 4, last
    assert key(last, "failed_count") == 0, last
    after = _by_id(sdk_step(results, "mass_after_cvid", 200, "ResponseWrapper")["data"])
    assert {rid: after[rid]["Rating"] for rid in ids} == {rid: "Active" for rid in ids}
