"""What the official v8 SDKs (Python `zohocrmsdk8-0`, Node.js `@zohocrm/nodejs-sdk-8.0`) must
make of Corral's replies: one `check_<step>` per driver step, shared by test_sdk8.py and
test_node_sdk8.py.

Both drivers print the same step names and shapes (see sdk8_driver.py, node_sdk8_driver.mjs);
the differences are the language's types, named in `Lang`: each record value's type travels
in `__pytypes__` (Python) or `__jstypes__` (Node: bigint ids, Date datetimes), and other SDK
models carry their getters' names (snake_case in Python, camelCase in Node: `key()` reads
both). A new feature is a new step in both drivers plus a `check_<step>` here, its name added
to the tests' `steps`. Issue 10's steps and the SDK calls they make (Python name; Node is the
camelCase twin on the same class):

- related records: `RelatedRecordsOperations(related_list, module)` `.get_related_records(id)`
  (GET /{module}/{id}/{related_list}), `.update_related_records(id, BodyWrapper)` (PUT, links),
  `.get_related_record(rel_id, id)`, `.delink_record(rel_id, id)`, `.delink_records(id, ids=)`.
- notes: `NotesOperations()` `.create_notes(BodyWrapper)` (POST /Notes, the v8 body: `Parent_Id`
  a ParentId with `module` a MinifiedModule and `id`), `.get_notes(fields=)`, `.get_note(id)`,
  `.update_note(id, ...)`, `.delete_note(id)`, `.delete_notes(ids=)`; a record's notes as
  related list "Notes".
- tags: `TagsOperations()` `.create_tags(BodyWrapper, module=)` / `.get_tags(module=)`
  (/settings/tags), `.add_tags(module, id, BodyWrapper)` / `.remove_tags(...)`
  (POST /{module}/{id}/actions/add_tags), `.add_tags_to_multiple_records(module, ...)`.
- attachments: `AttachmentsOperations()` `.upload_attachments(id, module, FileBodyWrapper(
  StreamWrapper(file_path=...)))` (multipart/form-data POST, part `file`),
  `.get_attachments(id, module, fields=)`, `.get_attachment(att_id, id, module)` (the download:
  a FileBodyWrapper whose stream the driver writes to WORK and hashes for the byte-identical
  check), `.delete_attachment(att_id, id, module)`.
- users CRUD: `RolesOperations().get_roles()`, `ProfilesOperations().get_profiles()`, then
  `UsersOperations()` `.create_users(BodyWrapper)`, `.get_user(id)`, `.update_user(id, ...)`,
  `.delete_user(id)`.
- page_token listing: `RecordOperations(module).get_records(fields=, per_page=200,
  page_token=)` following `info.get_next_page_token()` while `more_records` (2,500 records
  inserted 100 per call first, 100 more after the third page; the check compares the id sets
  and counts).

Where an SDK itself is wrong the driver works around it and says so, never the check: the Node
SDK (2.0.0) needs a resource path ending in a separator for related records, awaits
`getObject()` for a download, and cannot parse successful users write replies (see
`_user_action`).
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


# ----------------------------------------------------------------------------- issue 10


def _ids(records: list[dict[str, Any]]) -> list[str]:
    return [str(r["id"]) for r in records]


def _inserted(results: dict[str, Any], name: str, count: int) -> list[str]:
    ids = [_success(e, "record added") for e in sdk_step(results, name, 201,
                                                         "ActionWrapper")["data"]]
    assert len(ids) == count, results[name]
    return ids


def _done(entry: dict[str, Any], message: str) -> str:
    """An action entry without Created_By (relations, notes deletes, attachments, users)."""
    assert entry["__type__"].endswith("SuccessResponse"), entry
    assert (entry["status"], entry["code"], entry["message"]) == ("success", "SUCCESS", message)
    return str(entry["details"]["id"]) if "id" in entry["details"] else ""


def _empty(results: dict[str, Any], name: str) -> None:
    """204 No Content: the SDK gives no object."""
    got = results.get(name)
    assert got is not None and got["status_code"] == 204, got
    assert got["type"] in (None, "NoneType"), got


def check_related(results: dict[str, Any], lang: Lang) -> None:
    (account,) = _inserted(results, "rel_account", 1)
    first, second = _inserted(results, "rel_contacts_insert", 2)

    # a lookup related list: Contacts of an Account (the SDK reads /settings/related_lists and
    # the Contacts fields first, then converts each record per those fields)
    listed = sdk_step(results, "rel_contacts", 200, "ResponseWrapper")
    assert sorted(_ids(listed["data"])) == sorted([first, second])
    for rec in listed["data"]:
        assert rec["__type__"] == "Record" and _types(rec, lang)["id"] == lang.bigint, rec
        assert str(rec["Account_Name"]["id"]) == account, rec
        assert rec["Account_Name"]["name"] == "Related Co", rec
        assert _types(rec, lang)["Owner"] == "MinifiedUser", rec
    assert listed["info"]["count"] == 2 and listed["info"]["more_records"] is False
    (one,) = sdk_step(results, "rel_contact_one", 200, "ResponseWrapper")["data"]
    assert str(one["id"]) == first and one["Last_Name"] == "First"
    (entry,) = sdk_step(results, "rel_contact_delink", 200, "ActionWrapper")["data"]
    assert _done(entry, "relation removed") == second
    assert _ids(sdk_step(results, "rel_contacts_after", 200, "ResponseWrapper")["data"]) == [first]
    (delinked,) = sdk_step(results, "rel_contact_delinked", 200, "ResponseWrapper")["data"]
    assert str(delinked["id"]) == second and delinked["Account_Name"] is None, delinked

    # many-to-many with the link's own field: Products of a Price Book with list_price
    widget, gadget = _inserted(results, "rel_products_insert", 2)
    (book,) = _inserted(results, "rel_book_insert", 1)
    linked = sdk_step(results, "rel_book_link", 200, "ActionWrapper")["data"]
    assert [_done(e, "relation added") for e in linked] == [widget, gadget]
    products = _by_id(sdk_step(results, "rel_book_products", 200, "ResponseWrapper")["data"])
    assert set(products) == {widget, gadget}
    assert (products[widget]["Product_Name"], products[widget]["list_price"]) == ("Widget", 12.5)
    assert (products[gadget]["Product_Name"], products[gadget]["list_price"]) == ("Gadget", 40.0)
    (entry,) = sdk_step(results, "rel_book_update_one", 200, "ActionWrapper")["data"]
    assert _done(entry, "relation added") == widget
    (one,) = sdk_step(results, "rel_book_product_one", 200, "ResponseWrapper")["data"]
    assert (str(one["id"]), one["list_price"]) == (widget, 15.25)
    (entry,) = sdk_step(results, "rel_book_delink", 200, "ActionWrapper")["data"]
    assert _done(entry, "relation removed") == gadget
    (left,) = sdk_step(results, "rel_book_after", 200, "ResponseWrapper")["data"]
    assert (str(left["id"]), left["list_price"]) == (widget, 15.25)

    # Campaigns of a Lead with Member_Status; delinking the only one empties the list
    (campaign,) = _inserted(results, "rel_campaign_insert", 1)
    _inserted(results, "rel_member_insert", 1)
    (entry,) = sdk_step(results, "rel_campaign_link", 200, "ActionWrapper")["data"]
    assert _done(entry, "relation added") == campaign
    (member,) = sdk_step(results, "rel_campaigns", 200, "ResponseWrapper")["data"]
    assert (str(member["id"]), member["Campaign_Name"]) == (campaign, "Spring Launch")
    assert member["Member_Status"] == "Invited", member
    (entry,) = sdk_step(results, "rel_campaign_delink", 200, "ActionWrapper")["data"]
    assert _done(entry, "relation removed") == campaign
    _empty(results, "rel_campaigns_after")


def _parent(note: dict[str, Any]) -> tuple[str, str, str]:
    parent = key(note, "parent_id")
    return str(parent["id"]), key(parent["module"], "api_name"), parent["name"]


def check_notes(results: dict[str, Any], lang: Lang) -> None:
    (lead_id,) = _inserted(results, "notes_parent_insert", 1)
    (account_id,) = _inserted(results, "notes_account_insert", 1)
    created = sdk_step(results, "notes_create", 201, "ActionWrapper")["data"]
    ids = [_success(e, "record added") for e in created]
    assert ids == results["notes_ids"] and len(ids) == 3
    first, second, third = ids

    notes = {str(n["id"]): n for n in sdk_step(results, "notes_list", 200,
                                               "ResponseWrapper")["data"]}
    assert set(notes) == set(ids)
    for n in notes.values():
        assert n["__type__"] == "Note" and key(n, "owner")["email"] == ADMIN_EMAIL, n
    assert (key(notes[first], "note_title"), key(notes[first], "note_content")) == (
        "First", "first body\nline two")
    assert _parent(notes[first]) == (lead_id, "Leads", "Noted")
    assert _parent(notes[third]) == (account_id, "Accounts", "Noted Co")
    (got,) = sdk_step(results, "notes_get", 200, "ResponseWrapper")["data"]
    assert str(got["id"]) == first and key(got, "note_title") == "First"
    assert key(got, "created_time")[:4].isdigit(), got

    (entry,) = sdk_step(results, "notes_update", 200, "ActionWrapper")["data"]
    assert _success(entry, "record updated") == first
    (got,) = sdk_step(results, "notes_after_update", 200, "ResponseWrapper")["data"]
    assert (key(got, "note_title"), key(got, "note_content")) == ("First (edited)",
                                                                  "edited body")
    assert _parent(got) == (lead_id, "Leads", "Noted")

    # the Lead's Notes related list: its two notes (not the Account's), as records
    of_lead = sdk_step(results, "notes_of_lead", 200, "ResponseWrapper")["data"]
    assert sorted(_ids(of_lead)) == sorted([first, second])
    by_id = _by_id(of_lead)
    assert by_id[first]["Note_Title"] == "First (edited)"
    assert str(by_id[second]["Parent_Id"]["id"]) == lead_id

    (entry,) = sdk_step(results, "notes_delete_one", 200, "ActionWrapper")["data"]
    assert _done(entry, "record deleted") == second
    assert _ids(sdk_step(results, "notes_of_lead_after", 200, "ResponseWrapper")["data"]) == [
        first]
    # bulk update (PUT /Notes), then one through the Lead's Notes related list
    updated = sdk_step(results, "notes_update_many", 200, "ActionWrapper")["data"]
    assert [_success(e, "record updated") for e in updated] == [first, third]
    (entry,) = sdk_step(results, "notes_related_update", 200, "ActionWrapper")["data"]
    assert _done(entry, "record updated") == first
    (got,) = sdk_step(results, "notes_related_get", 200, "ResponseWrapper")["data"]
    assert (got["Note_Title"], got["Note_Content"]) == ("First (bulk)",
                                                        "through the related list")
    assert str(got["Parent_Id"]["id"]) == lead_id
    after = {str(n["id"]): n for n in sdk_step(results, "notes_after_bulk", 200,
                                               "ResponseWrapper")["data"]}
    assert set(after) == {first, third}
    assert (key(after[third], "note_title"), key(after[third], "note_content")) == (
        "Third", "third (bulk)")  # a bulk update changes only the keys it names
    (entry,) = sdk_step(results, "notes_related_delete", 200, "ActionWrapper")["data"]
    assert _done(entry, "relation removed") == first
    # deleting through the related list deleted the note: only the third is left to delete
    gone_first, deleted = sdk_step(results, "notes_delete_many", 207, "ActionWrapper")["data"]
    assert (gone_first["__type__"], gone_first["code"], gone_first["message"]) == (
        "APIException", "INVALID_DATA", "record not deleted"), gone_first
    assert str(gone_first["details"]["id"]) == first
    assert _done(deleted, "record deleted") == third
    gone = sdk_step(results, "notes_get_deleted", 400, "APIException")
    assert gone["error"]["code"] == "INVALID_DATA", gone


def _tagged(results: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """A RecordActionWrapper: its entries, and Zoho's counts (strings) around them."""
    got = sdk_step(results, name, 200, "RecordActionWrapper")
    assert (got["success_count"], got["locked_count"], got["wf_scheduler"]) == (
        str(len(got["data"])), "0", False), got
    data: list[dict[str, Any]] = got["data"]
    return data


def _record_tags(entry: dict[str, Any], message: str) -> tuple[str, set[str]]:
    assert entry["__type__"] == "RecordSuccessResponse", entry
    assert (entry["status"], entry["code"], entry["message"]) == ("success", "SUCCESS", message)
    return str(entry["details"]["id"]), {t["name"] for t in entry["details"]["tags"]}


def check_tags(results: dict[str, Any], lang: Lang) -> None:
    leads = _inserted(results, "tags_leads_insert", 3)
    created = sdk_step(results, "tags_create", 201, "ActionWrapper")["tags"]
    assert len(created) == 2, created
    for entry in created:
        assert entry["__type__"] == "SuccessResponse", entry
        assert (entry["code"], entry["message"]) == ("SUCCESS", "tags created successfully")
    hot_id = str(created[0]["details"]["id"])
    listed = sdk_step(results, "tags_list", 200, "ResponseWrapper")
    tags = {t["name"]: t for t in listed["tags"]}
    assert set(tags) == {"Hot", "Priority"}, tags
    assert tags["Hot"]["__type__"] == "Tag" and str(tags["Hot"]["id"]) == hot_id
    assert key(tags["Hot"], "color_code") == "#F48435"
    assert key(tags["Hot"], "created_by")["name"] == "Corral Admin"
    assert listed["info"]["count"] == 2

    (entry,) = _tagged(results, "tags_add_one")
    assert _record_tags(entry, "tags updated successfully") == (leads[0], {"Hot"})
    added = _tagged(results, "tags_add_many")
    assert [_record_tags(e, "tags updated successfully") for e in added] == [
        (leads[0], {"Hot", "Priority", "Fresh"}), (leads[1], {"Priority", "Fresh"}),
        (leads[2], {"Priority", "Fresh"})]
    records = _by_id(sdk_step(results, "tags_records", 200, "ResponseWrapper")["data"])
    assert {rid: {t["name"] for t in records[rid]["Tag"]} for rid in leads} == {
        leads[0]: {"Hot", "Priority", "Fresh"}, leads[1]: {"Priority", "Fresh"},
        leads[2]: {"Priority", "Fresh"}}

    (entry,) = _tagged(results, "tags_remove_one")
    assert _record_tags(entry, "tags removed successfully") == (leads[0], {"Priority", "Fresh"})
    removed = _tagged(results, "tags_remove_many")
    assert [_record_tags(e, "tags removed successfully") for e in removed] == [
        (leads[1], {"Fresh"}), (leads[2], {"Fresh"})]
    records = _by_id(sdk_step(results, "tags_records_after", 200, "ResponseWrapper")["data"])
    assert {rid: {t["name"] for t in records[rid]["Tag"]} for rid in leads} == {
        leads[0]: {"Priority", "Fresh"}, leads[1]: {"Fresh"}, leads[2]: {"Fresh"}}
    after = {t["name"] for t in sdk_step(results, "tags_list_after", 200,
                                         "ResponseWrapper")["tags"]}
    assert after == {"Hot", "Priority", "Fresh"}  # add_tags created "Fresh"


ATTACHMENT_NAME = "scan-2026.bin"


def check_attachments(results: dict[str, Any], lang: Lang) -> None:
    (parent,) = _inserted(results, "att_parent_insert", 1)
    (entry,) = sdk_step(results, "att_upload", 200, "ActionWrapper")["data"]
    att = _done(entry, "attachment uploaded successfully")
    assert att == results["att_id"] and att.isdigit()

    (listed,) = sdk_step(results, "att_list", 200, "ResponseWrapper")["data"]
    assert listed["__type__"] == "Attachment" and str(listed["id"]) == att, listed
    assert key(listed, "file_name") == ATTACHMENT_NAME
    assert int(key(listed, "size")) == results["att_size"]
    assert str(key(listed, "parent_id")["id"]) == parent
    assert key(listed, "owner")["email"] == ADMIN_EMAIL

    download = sdk_step(results, "att_download", 200, "FileBodyWrapper")
    assert download["file_name"] == ATTACHMENT_NAME, download
    assert download["size"] == results["att_size"], download
    assert download["sha256"] == results["att_sha256"], download  # byte-identical

    (entry,) = sdk_step(results, "att_delete", 200, "ActionWrapper")["data"]
    assert _done(entry, "record deleted") == att
    _empty(results, "att_list_after")


NODE_USERS_ACTION_BUG = "Cannot read properties of undefined (reading 'hasOwnProperty')"


def _user_action(results: dict[str, Any], name: str, lang: Lang, message: str) -> str:
    """A POST/PUT/DELETE /users reply. The Node SDK (2.0.0) cannot parse any successful one:
    its json_details list only APIException as users' ActionHandler (the driver's comment);
    the request went through the SDK unchanged and the outcome is read back with GET."""
    got = results[name]
    if lang is NODE:
        assert (got["status_code"], got["type"]) == (None, "SDKException"), got
        assert NODE_USERS_ACTION_BUG in got["sdk_error"], got
        assert "findMatch" in got["sdk_cause"], got
        return ""
    status = 201 if name == "uc_create" else 200
    (entry,) = sdk_step(results, name, status, "ActionWrapper")["data"]
    return _done(entry, message)


def _user(results: dict[str, Any], name: str) -> dict[str, Any]:
    (user,) = sdk_step(results, name, 200, "ResponseWrapper")["users"]
    assert user["__type__"] == "Users", user
    return user


def check_users_crud(results: dict[str, Any], lang: Lang) -> None:
    roles = sdk_step(results, "uc_roles", 200, "ResponseWrapper")["roles"]
    profiles = sdk_step(results, "uc_profiles", 200, "ResponseWrapper")["profiles"]
    assert "CEO" in {r["name"] for r in roles}
    assert {"Administrator", "Standard"} <= {p["name"] for p in profiles}
    created = _user_action(results, "uc_create", lang, "User added")
    user_id = results["uc_user_id"]
    assert user_id.isdigit() and created in ("", user_id)

    user = _user(results, "uc_get")
    assert str(user["id"]) == user_id and _types(user, lang)["id"] == lang.bigint
    assert (user["email"], user["first_name"], user["last_name"], user["full_name"]) == (
        "grace@zylker.com", "Grace", "Hopper", "Grace Hopper")
    assert (user["role"]["name"], str(user["role"]["id"])) == ("CEO", results["uc_role_id"])
    assert (user["profile"]["name"], str(user["profile"]["id"])) == (
        "Standard", results["uc_profile_id"])
    assert user["status"] == "active"

    assert _user_action(results, "uc_update", lang, "User updated") in ("", user_id)
    user = _user(results, "uc_after_update")
    assert (user["phone"], user["last_name"], user["full_name"]) == (
        "+1 555 0199", "Hopper-Murray", "Grace Hopper-Murray")
    assert user["email"] == "grace@zylker.com" and user["role"]["name"] == "CEO"

    count = sdk_step(results, "uc_count", 200, "CountWrapper")
    assert str(count["count"]) == "2", count  # the admin and the new user

    _user_action(results, "uc_delete", lang, "User deleted")
    user = _user(results, "uc_get_deleted")
    assert str(user["id"]) == user_id and user["status"] == "deleted", user
    _empty(results, "uc_deactive")  # deleted is not deactivated


PAGE_TOKEN_RECORDS = 2500


def check_page_token(results: dict[str, Any], lang: Lang) -> None:
    assert "pt_insert_failed" not in results, results.get("pt_insert_failed")
    inserted = results["pt_inserted"]
    assert len(inserted) == len(set(inserted)) == PAGE_TOKEN_RECORDS
    pages = results["pt_pages"]
    for page in pages:
        assert (page["status_code"], page["type"]) == (200, "ResponseWrapper"), page
    # 200 a page: past the 2,000 a page number may reach, only tokens go on
    assert [p["sent_token"] for p in pages] == [False] + [True] * (len(pages) - 1), pages
    assert all(p["more_records"] and p["has_next_token"] for p in pages[:-1]), pages
    assert pages[-1]["more_records"] is False and not pages[-1]["has_next_token"], pages
    assert all(p["count"] == 200 for p in pages[:-1]), pages
    late = results["pt_late"]
    assert len(late) == 100 and not set(late) & set(inserted), late
    # every record that existed when the listing began, exactly once; the ones inserted
    # meanwhile may show or not (Zoho is silent) but never twice, and shift nothing
    read = results["pt_read"]
    assert len(read) == len(set(read)), "a record came twice"
    assert set(inserted) <= set(read), f"missed {len(set(inserted) - set(read))}"
    assert set(read) <= set(inserted) | set(late), "a record that is no Paging Lead"


def check_tags_manage(results: dict[str, Any], lang: Lang) -> None:
    leads = _inserted(results, "tm_leads_insert", 2)
    alpha, beta = results["tm_tag_ids"]
    (_, tagged_both), (_, tagged_second) = (
        _record_tags(e, "tags updated successfully") for e in _tagged(results, "tm_tag"))
    assert tagged_both == tagged_second == {"Alpha"}
    (entry,) = _tagged(results, "tm_tag_second")
    assert _record_tags(entry, "tags updated successfully") == (leads[1], {"Alpha", "Beta"})
    count = sdk_step(results, "tm_count", 200, "CountResponseWrapper")
    assert str(count["count"]) == "2", count

    (entry,) = sdk_step(results, "tm_update_one", 200, "ActionWrapper")["tags"]
    assert (entry["code"], entry["message"], str(entry["details"]["id"])) == (
        "SUCCESS", "tags updated successfully", alpha), entry
    (entry,) = sdk_step(results, "tm_update_many", 200, "ActionWrapper")["tags"]
    assert (entry["code"], str(entry["details"]["id"])) == ("SUCCESS", beta), entry
    tags = {str(t["id"]): t for t in sdk_step(results, "tm_after_update", 200,
                                              "ResponseWrapper")["tags"]}
    assert (tags[alpha]["name"], key(tags[alpha], "color_code")) == ("Alpha One", "#57B1FD")
    assert (tags[beta]["name"], key(tags[beta], "color_code")) == ("Beta Two", "#969696")

    # merge Alpha One into Beta Two: its records carry Beta Two (once), Alpha One is gone
    (entry,) = sdk_step(results, "tm_merge", 200, "ActionWrapper")["tags"]
    assert (entry["code"], entry["message"], str(entry["details"]["id"])) == (
        "SUCCESS", "tags merged successfully", beta), entry
    merged = _by_id(sdk_step(results, "tm_records_merged", 200, "ResponseWrapper")["data"])
    assert {rid: [t["name"] for t in merged[rid]["Tag"]] for rid in leads} == {
        leads[0]: ["Beta Two"], leads[1]: ["Beta Two"]}
    (entry,) = sdk_step(results, "tm_delete", 200, "ActionWrapper")["tags"]
    assert (entry["code"], entry["message"], str(entry["details"]["id"])) == (
        "SUCCESS", "tags deleted successfully", beta), entry
    after = _by_id(sdk_step(results, "tm_records_after", 200, "ResponseWrapper")["data"])
    assert {rid: after[rid]["Tag"] for rid in leads} == {leads[0]: [], leads[1]: []}
    listed = sdk_step(results, "tm_list_after", 200, "ResponseWrapper")
    left = {str(t["id"]) for t in listed["tags"]}
    assert not left & {alpha, beta} and listed["info"]["count"] == len(left), listed


def check_attachment_links(results: dict[str, Any], lang: Lang) -> None:
    (parent,) = _inserted(results, "al_parent_insert", 1)
    (entry,) = sdk_step(results, "al_upload", 200, "ActionWrapper")["data"]
    att = _done(entry, "attachment uploaded successfully")
    assert att == results["al_id"] and att.isdigit()
    (listed,) = sdk_step(results, "al_list", 200, "ResponseWrapper")["data"]
    assert str(listed["id"]) == att and key(listed, "file_name") == "Spec sheet", listed
    assert key(listed, "link_url") == "https://example.com/spec.pdf", listed
    refused = sdk_step(results, "al_download", 400, "APIException")
    assert refused["error"]["code"] == "DOWNLOAD_NOT_ALLOWED", refused
    (entry,) = sdk_step(results, "al_delete", 200, "ActionWrapper")["data"]
    assert _done(entry, "record deleted") == att
    _empty(results, "al_list_after")
    assert parent.isdigit()
