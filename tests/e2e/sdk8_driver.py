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
import hashlib
import json
import os
import sys
import time
import traceback

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.attachments import (
    AttachmentsOperations,
    DeleteAttachmentsParam,
    GetAttachmentsParam,
    UploadUrlAttachmentsParam,
)
from zohocrmsdk.src.com.zoho.crm.api.attachments import FileBodyWrapper as AttachmentFile
from zohocrmsdk.src.com.zoho.crm.api.custom_views import (
    CustomViewsOperations,
    GetCustomViewsParam,
)
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.fields import FieldsOperations, GetFieldsParam
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.modules import MinifiedModule
from zohocrmsdk.src.com.zoho.crm.api.notes import BodyWrapper as NotesBody
from zohocrmsdk.src.com.zoho.crm.api.notes import (
    DeleteNotesParam,
    GetNoteParam,
    GetNotesParam,
    Note,
    NotesOperations,
    ParentId,
)
from zohocrmsdk.src.com.zoho.crm.api.profiles import ProfilesOperations
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
from zohocrmsdk.src.com.zoho.crm.api.related_records import BodyWrapper as RelatedBody
from zohocrmsdk.src.com.zoho.crm.api.related_records import (
    DelinkRecordsParam,
    RelatedRecordsOperations,
)
from zohocrmsdk.src.com.zoho.crm.api.roles import RolesOperations
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.tags import (
    AddTagsToMultipleRecordsParam,
    ConflictWrapper,
    CreateTagsParam,
    GetRecordCountForTagParam,
    GetTagsParam,
    MergeWrapper,
    NewTagRequestWrapper,
    RemoveTagsFromMultipleRecordsParam,
    Tag,
    TagsOperations,
    UpdateTagParam,
    UpdateTagsParam,
)
from zohocrmsdk.src.com.zoho.crm.api.tags import BodyWrapper as TagsBody
from zohocrmsdk.src.com.zoho.crm.api.users import BodyWrapper as UsersBody
from zohocrmsdk.src.com.zoho.crm.api.users import (
    GetUsersParam,
    Profile,
    Role,
    Users,
    UsersCountParam,
    UsersOperations,
)
from zohocrmsdk.src.com.zoho.crm.api.util import Choice, StreamWrapper

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
    action = type(obj).__name__.endswith("ActionWrapper")
    if hasattr(obj, "get_users"):  # users ResponseWrapper, ActionWrapper (its entries: data)
        users = obj.get_users() or []
        if action:
            out["data"] = [action_entry(e) for e in users]
        else:
            out["users"] = [plain(u) for u in users]
    if hasattr(obj, "get_tags"):  # tags ResponseWrapper, ActionWrapper
        tags = obj.get_tags() or []
        out["tags"] = [action_entry(e) if action else plain(e) for e in tags]
    for name in ("success_count", "locked_count", "wf_scheduler"):  # tags RecordActionWrapper
        if hasattr(obj, "get_" + name):
            out[name] = plain(getattr(obj, "get_" + name)())
    for name in ("roles", "profiles"):  # roles / profiles ResponseWrapper
        if hasattr(obj, "get_" + name):
            out[name] = [plain(x) for x in (getattr(obj, "get_" + name)() or [])]
    if hasattr(obj, "get_custom_views"):  # custom views ResponseWrapper
        out["custom_views"] = [plain(v) for v in (obj.get_custom_views() or [])]
    data = obj.get_data() if hasattr(obj, "get_data") else None
    if action and data is not None:  # ActionWrapper, MassUpdateActionWrapper, RecordAction...
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


# ----------------------------------------------------------------------------- issue 10 steps


def create_ids(module, records, results, name):
    """create_records on `module`; the reply under results[name]; the new ids."""
    results[name] = reply(RecordOperations(module).create_records(body(records)))
    return ids_of(results[name])


def link(record_id=None, choice=None, **values):
    """A related record for RelatedRecordsOperations: its id and the link's own fields."""
    record = Record()
    if record_id is not None:
        record.set_id(record_id)
    for key, value in values.items():
        record.add_key_value(key, value)
    for key, value in (choice or {}).items():
        record.add_key_value(key, Choice(value))
    return record


def related_body(records):
    wrapper = RelatedBody()
    wrapper.set_data(records)
    return wrapper


def step_related(ctx, results):
    """Related records: a lookup list (Contacts of an Account: list, get one, delink one),
    Products of a Price Book with list_price (link two, list, update one link, delink by ids),
    Campaigns of a Lead with Member_Status (link one, list, delink)."""
    (account,) = create_ids("Accounts", [lead(Account_Name="Related Co")], results,
                            "rel_account") or [None]
    if account is None:
        return
    contacts = create_ids("Contacts", [lead(Last_Name="First", Account_Name=ref(account)),
                                       lead(Last_Name="Second", Account_Name=ref(account))],
                          results, "rel_contacts_insert")
    results["rel_contact_ids"] = [str(i) for i in contacts]
    if len(contacts) != 2:
        return
    of_account = RelatedRecordsOperations("Contacts", "Accounts")
    results["rel_contacts"] = reply(of_account.get_related_records(account))
    results["rel_contact_one"] = reply(of_account.get_related_record(contacts[0], account))
    results["rel_contact_delink"] = reply(of_account.delink_record(contacts[1], account))
    results["rel_contacts_after"] = reply(of_account.get_related_records(account))
    results["rel_contact_delinked"] = reply(RecordOperations("Contacts").get_record(contacts[1]))

    products = create_ids("Products", [lead(Product_Name="Widget"), lead(Product_Name="Gadget")],
                          results, "rel_products_insert")
    from zohocrmsdk.src.com.zoho.crm.api.record import PricingDetails

    tier = PricingDetails()
    tier.set_from_range(1.0)
    tier.set_to_range(1000.0)
    tier.set_discount(0.0)
    book_record = lead(Price_Book_Name="Wholesale", Active=True, Pricing_Details=[tier])
    book_record.add_key_value("Pricing_Model", Choice("Flat"))
    (book,) = create_ids("Price_Books", [book_record],
                         results,
                         "rel_book_insert") or [None]
    results["rel_product_ids"] = [str(i) for i in products]
    results["rel_book_id"] = str(book)
    if len(products) != 2 or book is None:
        return
    of_book = RelatedRecordsOperations("Products", "Price_Books")
    results["rel_book_link"] = reply(of_book.update_related_records(book, related_body([
        link(products[0], list_price=12.5), link(products[1], list_price=40.0)])))
    results["rel_book_products"] = reply(of_book.get_related_records(book))
    results["rel_book_update_one"] = reply(of_book.update_related_record(
        products[0], book, related_body([link(list_price=15.25)])))
    results["rel_book_product_one"] = reply(of_book.get_related_record(products[0], book))
    results["rel_book_delink"] = reply(of_book.delink_records(book, params(
        (DelinkRecordsParam.ids, str(products[1])))))
    results["rel_book_after"] = reply(of_book.get_related_records(book))

    (campaign,) = create_ids("Campaigns", [lead(Campaign_Name="Spring Launch")], results,
                             "rel_campaign_insert") or [None]
    (member,) = create_ids("Leads", [lead(Last_Name="Member", Company="Acme")], results,
                           "rel_member_insert") or [None]
    results["rel_campaign_id"] = str(campaign)
    if campaign is None or member is None:
        return
    of_lead = RelatedRecordsOperations("Campaigns", "Leads")
    results["rel_campaign_link"] = reply(of_lead.update_related_record(
        campaign, member, related_body([link(choice={"Member_Status": "Invited"})])))
    results["rel_campaigns"] = reply(of_lead.get_related_records(member))
    results["rel_campaign_delink"] = reply(of_lead.delink_record(campaign, member))
    results["rel_campaigns_after"] = reply(of_lead.get_related_records(member))


def parent(module, record_id):
    value = ParentId()
    target = MinifiedModule()
    target.set_api_name(module)
    value.set_module(target)
    value.set_id(record_id)
    return value


def note(title=None, content=None, parent_id=None, note_id=None):
    value = Note()
    if note_id is not None:
        value.set_id(note_id)
    if title is not None:
        value.set_note_title(title)
    if content is not None:
        value.set_note_content(content)
    if parent_id is not None:
        value.set_parent_id(parent_id)
    return value


def notes_body(notes):
    wrapper = NotesBody()
    wrapper.set_data(notes)
    return wrapper


def step_notes(ctx, results):
    """Notes: create two on a Lead and one on an Account (POST /Notes, v8 Parent_Id), list,
    get one, update one, the Lead's Notes related list, delete one and then the rest."""
    ops = NotesOperations()
    (noted,) = create_ids("Leads", [lead(Last_Name="Noted", Company="Acme")], results,
                          "notes_parent_insert") or [None]
    (account,) = create_ids("Accounts", [lead(Account_Name="Noted Co")], results,
                            "notes_account_insert") or [None]
    results["notes_parent_id"] = str(noted)
    results["notes_account_id"] = str(account)
    if noted is None or account is None:
        return
    results["notes_create"] = created = reply(ops.create_notes(notes_body([
        note("First", "first body\nline two", parent("Leads", noted)),
        note("Second", "second body", parent("Leads", noted)),
        note("Third", "third body", parent("Accounts", account))])))
    ids = ids_of(created)
    results["notes_ids"] = [str(i) for i in ids]
    if len(ids) != 3:
        return
    fields = "Note_Title,Note_Content,Parent_Id,Owner,Created_Time"
    results["notes_list"] = reply(ops.get_notes(params((GetNotesParam.fields, fields))))
    results["notes_get"] = reply(ops.get_note(ids[0], params((GetNoteParam.fields, fields))))
    results["notes_update"] = reply(ops.update_note(ids[0], notes_body([
        note(title="First (edited)", content="edited body")])))
    results["notes_after_update"] = reply(ops.get_note(ids[0], params(
        (GetNoteParam.fields, fields))))
    results["notes_of_lead"] = reply(RelatedRecordsOperations("Notes", "Leads")
                                     .get_related_records(noted))
    results["notes_delete_one"] = reply(ops.delete_note(ids[1]))
    results["notes_of_lead_after"] = reply(RelatedRecordsOperations("Notes", "Leads")
                                           .get_related_records(noted))
    results["notes_update_many"] = reply(ops.update_notes(notes_body([
        note(title="First (bulk)", note_id=ids[0]), note(content="third (bulk)", note_id=ids[2])])))
    of_lead = RelatedRecordsOperations("Notes", "Leads")
    change = Record()
    change.add_key_value("Note_Content", "through the related list")
    results["notes_related_update"] = reply(of_lead.update_related_record(
        ids[0], noted, related_body([change])))
    results["notes_related_get"] = reply(of_lead.get_related_record(ids[0], noted))
    results["notes_after_bulk"] = reply(ops.get_notes(params(
        (GetNotesParam.fields, fields), (GetNotesParam.ids, f"{ids[0]},{ids[2]}"))))
    results["notes_related_delete"] = reply(of_lead.delink_record(ids[0], noted))
    results["notes_delete_many"] = reply(ops.delete_notes(params(
        (DeleteNotesParam.ids, f"{ids[0]},{ids[2]}"))))
    results["notes_get_deleted"] = reply(ops.get_note(ids[0], params(
        (GetNoteParam.fields, fields))))


def tag(name=None, tag_id=None, color_code=None):
    value = Tag()
    if name is not None:
        value.set_name(name)
    if tag_id is not None:
        value.set_id(tag_id)
    if color_code is not None:
        value.set_color_code(color_code)
    return value


def tag_request(tags, ids=None, over_write=None, existing=False):
    from zohocrmsdk.src.com.zoho.crm.api.tags import ExistingTag, ExistingTagRequestWrapper

    if existing:
        wrapper = ExistingTagRequestWrapper()
        items = []
        for name in tags:
            item = ExistingTag()
            item.set_name(name)
            items.append(item)
        wrapper.set_tags(items)
    else:
        wrapper = NewTagRequestWrapper()
        wrapper.set_tags([tag(name=name) for name in tags])
        if over_write is not None:
            wrapper.set_over_write(over_write)
    if ids is not None:
        wrapper.set_ids(ids)
    return wrapper


def step_tags(ctx, results):
    """Tags: create two on Leads (/settings/tags), list them, add tags to one record and to
    several, read the records' Tag field, remove from one record and from several."""
    ops = TagsOperations()
    leads = create_ids("Leads", [lead(Last_Name=f"Tagged{i}", Company="Tag Inc")
                                 for i in range(3)], results, "tags_leads_insert")
    results["tags_lead_ids"] = [str(i) for i in leads]
    if len(leads) != 3:
        return
    wrapper = TagsBody()
    wrapper.set_tags([tag("Hot", color_code="#F48435"), tag("Priority")])
    results["tags_create"] = reply(ops.create_tags(wrapper, params(
        (CreateTagsParam.module, MODULE))))
    results["tags_list"] = reply(ops.get_tags(params((GetTagsParam.module, MODULE))))
    results["tags_add_one"] = reply(ops.add_tags(MODULE, leads[0], tag_request(["Hot"])))
    results["tags_add_many"] = reply(ops.add_tags_to_multiple_records(
        MODULE, tag_request(["Priority", "Fresh"], ids=leads), params(
            (AddTagsToMultipleRecordsParam.over_write, "false"))))
    id_param = (GetRecordsParam.ids, ",".join(str(i) for i in leads))
    results["tags_records"] = reply(RecordOperations(MODULE).get_records(params(id_param)))
    results["tags_remove_one"] = reply(ops.remove_tags(
        MODULE, leads[0], tag_request(["Hot"], existing=True)))
    results["tags_remove_many"] = reply(ops.remove_tags_from_multiple_records(
        MODULE, tag_request(["Priority"], ids=leads[1:], existing=True), params(
            (RemoveTagsFromMultipleRecordsParam.ids, ",".join(str(i) for i in leads[1:])))))
    results["tags_records_after"] = reply(RecordOperations(MODULE).get_records(params(id_param)))
    results["tags_list_after"] = reply(ops.get_tags(params((GetTagsParam.module, MODULE))))


def step_tags_manage(ctx, results):
    """Tag definitions: count a tag's records, rename/recolour one (PUT /settings/tags/{id}) and
    several (PUT /settings/tags), merge one into another, delete one."""
    ops = TagsOperations()
    leads = create_ids("Leads", [lead(Last_Name=f"Managed{i}", Company="Tag Inc")
                                 for i in range(2)], results, "tm_leads_insert")
    wrapper = TagsBody()
    wrapper.set_tags([tag("Alpha"), tag("Beta")])
    results["tm_create"] = created = reply(ops.create_tags(wrapper, params(
        (CreateTagsParam.module, MODULE))))
    tag_ids = [int(e["details"]["id"]) for e in created.get("tags", [])
               if e.get("status") == "success"]
    results["tm_tag_ids"] = [str(i) for i in tag_ids]
    if len(leads) != 2 or len(tag_ids) != 2:
        return
    alpha, beta = tag_ids
    results["tm_tag"] = reply(ops.add_tags_to_multiple_records(
        MODULE, tag_request(["Alpha"], ids=leads), params(
            (AddTagsToMultipleRecordsParam.over_write, "false"))))
    results["tm_tag_second"] = reply(ops.add_tags(MODULE, leads[1], tag_request(["Beta"])))
    count = ops.get_record_count_for_tag(alpha, params((GetRecordCountForTagParam.module,
                                                        MODULE)))
    results["tm_count"] = got = reply(count)
    if count is not None and hasattr(count.get_object(), "get_count"):
        got["count"] = count.get_object().get_count()
    wrapper = TagsBody()
    wrapper.set_tags([tag("Alpha One", color_code="#57B1FD")])
    results["tm_update_one"] = reply(ops.update_tag(alpha, wrapper, params(
        (UpdateTagParam.module, MODULE))))
    wrapper = TagsBody()
    wrapper.set_tags([tag("Beta Two", tag_id=beta)])
    results["tm_update_many"] = reply(ops.update_tags(wrapper, params(
        (UpdateTagsParam.module, MODULE))))
    results["tm_after_update"] = reply(ops.get_tags(params((GetTagsParam.module, MODULE))))
    conflict = ConflictWrapper()
    conflict.set_conflict_id(str(beta))
    merge = MergeWrapper()
    merge.set_tags([conflict])
    results["tm_merge"] = reply(ops.merge_tags(alpha, merge))
    id_param = (GetRecordsParam.ids, ",".join(str(i) for i in leads))
    results["tm_records_merged"] = reply(RecordOperations(MODULE).get_records(params(id_param)))
    results["tm_delete"] = reply(ops.delete_tag(beta))
    results["tm_records_after"] = reply(RecordOperations(MODULE).get_records(params(id_param)))
    results["tm_list_after"] = reply(ops.get_tags(params((GetTagsParam.module, MODULE))))


def step_attachment_links(ctx, results):
    """Link attachments (POST ?attachmentUrl=&title=): listed with their URL, download refused
    (DOWNLOAD_NOT_ALLOWED), deleted with DELETE ?ids=."""
    ops = AttachmentsOperations()
    (owner,) = create_ids("Leads", [lead(Last_Name="Linked", Company="Acme")], results,
                          "al_parent_insert") or [None]
    if owner is None:
        return
    results["al_upload"] = uploaded = reply(ops.upload_url_attachments(owner, MODULE, params(
        (UploadUrlAttachmentsParam.attachmenturl, "https://example.com/spec.pdf"),
        (UploadUrlAttachmentsParam.title, "Spec sheet"))))
    (att,) = ids_of(uploaded) or [None]
    results["al_id"] = str(att)
    if att is None:
        return
    results["al_list"] = reply(ops.get_attachments(owner, MODULE, params(
        (GetAttachmentsParam.fields, "id,File_Name,$link_url,Size"))))
    results["al_download"] = reply(ops.get_attachment(att, owner, MODULE))
    results["al_delete"] = reply(ops.delete_attachments(owner, MODULE, params(
        (DeleteAttachmentsParam.ids, str(att)))))
    results["al_list_after"] = reply(ops.get_attachments(owner, MODULE, params(
        (GetAttachmentsParam.fields, "id,File_Name"))))


# A file whose bytes no text handling leaves intact: every byte value, CR LF, NULs, a
# multipart boundary look-alike and a PNG signature.
ATTACHMENT_BYTES = (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4 + b"\r\n--boundary--\r\n"
                    + b"\x00" * 64 + "naïve ☃".encode() + b"\xff\xfe")
ATTACHMENT_NAME = "scan-2026.bin"


def step_attachments(ctx, results):
    """Attachments: upload a binary file to a Lead (multipart/form-data), list them, download
    it (the driver hashes what the SDK wrote to WORK), delete it, list again."""
    ops = AttachmentsOperations()
    (owner,) = create_ids("Leads", [lead(Last_Name="Attached", Company="Acme")], results,
                          "att_parent_insert") or [None]
    results["att_parent_id"] = str(owner)
    if owner is None:
        return
    source = os.path.join(ctx["work"], ATTACHMENT_NAME)
    with open(source, "wb") as f:
        f.write(ATTACHMENT_BYTES)
    results["att_sha256"] = hashlib.sha256(ATTACHMENT_BYTES).hexdigest()
    results["att_size"] = len(ATTACHMENT_BYTES)
    upload = AttachmentFile()
    upload.set_file(StreamWrapper(file_path=source))
    results["att_upload"] = uploaded = reply(ops.upload_attachments(owner, MODULE, upload))
    (att,) = ids_of(uploaded) or [None]
    results["att_id"] = str(att)
    if att is None:
        return
    fields = "id,File_Name,Size,Created_Time,Parent_Id,Owner"
    results["att_list"] = reply(ops.get_attachments(owner, MODULE, params(
        (GetAttachmentsParam.fields, fields))))
    response = ops.get_attachment(att, owner, MODULE)
    results["att_download"] = got = reply(response)
    wrapper = response.get_object() if response is not None else None
    if wrapper is not None and hasattr(wrapper, "get_file"):
        stream = wrapper.get_file()
        content = stream.get_stream().content if hasattr(stream.get_stream(), "content") \
            else stream.get_stream().read()
        target = os.path.join(ctx["work"], "downloaded-" + (stream.get_name() or "file"))
        with open(target, "wb") as f:
            f.write(content)
        with open(target, "rb") as f:
            written = f.read()
        got["file_name"] = stream.get_name()
        got["sha256"] = hashlib.sha256(written).hexdigest()
        got["size"] = len(written)
    results["att_delete"] = reply(ops.delete_attachment(att, owner, MODULE))
    results["att_list_after"] = reply(ops.get_attachments(owner, MODULE, params(
        (GetAttachmentsParam.fields, fields))))


def step_users_crud(ctx, results):
    """Users CRUD: a role and a profile from /settings/roles and /settings/profiles, then
    create a user, get it, update it, delete it and get it again."""
    ops = UsersOperations()
    results["uc_roles"] = roles = reply(RolesOperations().get_roles())
    results["uc_profiles"] = profiles = reply(ProfilesOperations().get_profiles())
    role_id = next((r["id"] for r in roles.get("roles", []) if r.get("name") == "CEO"), None)
    profile_id = next((p["id"] for p in profiles.get("profiles", [])
                       if p.get("name") == "Standard"), None)
    results["uc_role_id"], results["uc_profile_id"] = str(role_id), str(profile_id)
    if role_id is None or profile_id is None:
        return
    user = Users()
    user.set_first_name("Grace")
    user.set_last_name("Hopper")
    user.set_email("grace@zylker.com")
    role, profile = Role(), Profile()
    role.set_id(int(role_id))
    profile.set_id(int(profile_id))
    user.set_role(role)
    user.set_profile(profile)
    wrapper = UsersBody()
    wrapper.set_users([user])
    results["uc_create"] = created = reply(ops.create_users(wrapper))
    (user_id,) = ids_of(created) or [None]
    results["uc_user_id"] = str(user_id)
    if user_id is None:
        return
    results["uc_get"] = reply(ops.get_user(user_id))
    change = Users()
    change.set_phone("+1 555 0199")
    change.set_last_name("Hopper-Murray")
    wrapper = UsersBody()
    wrapper.set_users([change])
    results["uc_update"] = reply(ops.update_user(user_id, wrapper))
    results["uc_after_update"] = reply(ops.get_user(user_id))
    count = ops.users_count(params((UsersCountParam.type, "ActiveUsers")))
    results["uc_count"] = got = reply(count)
    if count is not None and hasattr(count.get_object(), "get_count"):
        got["count"] = count.get_object().get_count()
    results["uc_delete"] = reply(ops.delete_user(user_id))
    results["uc_get_deleted"] = reply(ops.get_user(user_id))
    results["uc_deactive"] = reply(ops.get_users(params((GetUsersParam.type, "DeactiveUsers"))))


PAGE_TOKEN_RECORDS = 2500


def step_page_token(ctx, results):
    """2,500 Leads inserted 100 per call, then GET /Leads 200 per page following
    info.next_page_token while more_records, 100 more Leads inserted after the third page; the
    ids read are compared by the test."""
    ops = RecordOperations(MODULE)
    inserted = []
    for start in range(0, PAGE_TOKEN_RECORDS, 100):
        got = reply(ops.create_records(body([
            lead(Last_Name=f"Page{i:04d}", Company="Paging Inc")
            for i in range(start, start + 100)])))
        if got["status_code"] != 201:
            results["pt_insert_failed"] = got
            return
        inserted.extend(str(i) for i in ids_of(got))
    results["pt_inserted"] = inserted
    pages, read, token = [], [], None
    while len(pages) < 2 * PAGE_TOKEN_RECORDS // 200:
        pairs = [(GetRecordsParam.fields, "Last_Name,Company"), (GetRecordsParam.per_page, 200)]
        if token is not None:
            pairs.append((GetRecordsParam.page_token, token))
        got = reply(ops.get_records(params(*pairs)))
        info = got.get("info") or {}
        pages.append({"status_code": got["status_code"], "type": got["type"],
                      "count": info.get("count"), "more_records": info.get("more_records"),
                      "has_next_token": info.get("next_page_token") is not None,
                      "sent_token": token is not None})
        read.extend(str(r["id"]) for r in got.get("data", [])
                    if r.get("Company") == "Paging Inc")
        token = info.get("next_page_token")
        if not info.get("more_records") or token is None:
            break
        if len(pages) == 3:  # records inserted meanwhile must not shift the listing
            late = reply(ops.create_records(body([
                lead(Last_Name=f"Late{i:03d}", Company="Paging Inc") for i in range(100)])))
            results["pt_late"] = [str(i) for i in ids_of(late)]
    results["pt_pages"] = pages
    results["pt_read"] = read


STEPS = {
    "records": step_records,
    "fields": step_fields,
    "users": step_users,
    "mass_update": step_mass_update,
    "related": step_related,
    "notes": step_notes,
    "tags": step_tags,
    "attachments": step_attachments,
    "users_crud": step_users_crud,
    "tags_manage": step_tags_manage,
    "attachment_links": step_attachment_links,
    "page_token": step_page_token,
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
