// Driver run by tests/e2e/test_node_sdk8.py with `node` (its folder links the node_modules of
// .cache/node-sdk8, where the official @zohocrm/nodejs-sdk-8.0 is installed).
//
// Usage: node node_sdk8_driver.mjs BASE_URL AUTH_JSON WORK_DIR [STEP ...]
//
// AUTH_JSON is {"access_token": ...}, {"client_id", "client_secret", "grant_token"} or
// {"client_id", "client_secret", "refresh_token"} (the SDK then exchanges the grant, or
// refreshes, at BASE_URL/oauth/v2/token itself). Drives a running Corral with the
// SDK and prints one JSON object (the last line of stdout) describing what the SDK made of every
// reply; the test asserts on it. Never asserts itself: an SDK exception is recorded under "error".
//
// Each feature is one async step function in STEPS (records, fields, users, ...): a new feature is
// a new `async function stepXxx(ctx, results)` plus its name on the test's command line. Steps
// share `ctx` (e.g. ctx.leadIds set by the records step).

import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ZOHOCRMSDK from "@zohocrm/nodejs-sdk-8.0";

const R = ZOHOCRMSDK.Record;
const MODULE = "Leads";
const UNKNOWN_ID = "1234567890123456789";
const JOB_TIMEOUT_MS = 90000;

// ----------------------------------------------------------------------------- SDK -> JSON

function typeName(value) {
  if (value === null || value === undefined) return "null";
  if (typeof value !== "object") return typeof value;
  return value.constructor ? value.constructor.name : "Object";
}

// SDK objects -> JSON-able values (enough to assert on). BigInt becomes its decimal string;
// `__jstypes__` keeps each record value's JavaScript type (bigint, number, Date, Choice...).
function plain(value, depth = 0) {
  if (depth > 6) return String(value);
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "object") return value;
  if (value instanceof ZOHOCRMSDK.Choice) return plain(value.getValue(), depth + 1);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => plain(v, depth + 1));
  if (value instanceof Map) {
    const out = {};
    for (const [k, v] of value) out[String(k)] = plain(v, depth + 1);
    return out;
  }
  if (typeof value.getKeyValues === "function") { // Record and its subclasses
    const map = value.getKeyValues();
    const out = plain(map, depth + 1);
    out.__type__ = typeName(value);
    out.__jstypes__ = {};
    for (const [k, v] of map) out.__jstypes__[k] = typeName(v);
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto && proto !== Object.prototype) { // other SDK models: their getters' values
    const out = { __type__: typeName(value) };
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name.startsWith("get") && name.length > 3 && typeof value[name] === "function"
          && value[name].length === 0) {
        let got;
        try { got = value[name](); } catch (e) { continue; }
        if (got !== null && got !== undefined && typeof got.then !== "function") {
          // getNoteTitle -> noteTitle, getAPIName -> apiName (a leading acronym lowercased)
          const key = name.slice(3).replace(/^[A-Z]+(?=[A-Z][a-z]|$)|^[A-Z]/,
            (head) => head.toLowerCase());
          out[key] = plain(got, depth + 1);
        }
      }
    }
    return out;
  }
  const out = {};
  for (const [k, v] of Object.entries(value)) out[k] = plain(v, depth + 1);
  return out;
}

function actionEntry(entry) {
  const out = { __type__: typeName(entry) };
  for (const key of ["Status", "Code", "Message", "Details", "Action", "DuplicateField"]) {
    if (typeof entry["get" + key] === "function") {
      const name = key === "DuplicateField" ? "duplicate_field" : key.toLowerCase();
      out[name] = plain(entry["get" + key]());
    }
  }
  return out;
}

// APIResponse -> {status_code, type, ...} with the parsed content.
function reply(response) {
  if (response === null || response === undefined) return { status_code: null, type: null };
  const obj = response.getObject();
  const out = { status_code: response.getStatusCode(), type: obj ? typeName(obj) : null };
  if (!obj) return out;
  if (out.type === "APIException") {
    out.error = actionEntry(obj);
    return out;
  }
  if (typeof obj.getFields === "function") {
    out.fields = (obj.getFields() || []).map((f) => ({
      api_name: f.getAPIName(), data_type: f.getDataType(), id: plain(f.getId()),
      id_type: typeName(f.getId()),
    }));
    return out;
  }
  const action = out.type.endsWith("ActionWrapper");
  if (typeof obj.getUsers === "function") { // users ResponseWrapper, ActionWrapper (entries: data)
    const users = obj.getUsers() || [];
    if (action) out.data = users.map(actionEntry);
    else out.users = users.map((u) => plain(u));
  }
  if (typeof obj.getTags === "function") { // tags ResponseWrapper, ActionWrapper
    out.tags = (obj.getTags() || []).map((t) => (action ? actionEntry(t) : plain(t)));
  }
  for (const [name, getter] of [["success_count", "getSuccessCount"], // tags RecordActionWrapper
    ["locked_count", "getLockedCount"], ["wf_scheduler", "getWfScheduler"]]) {
    if (typeof obj[getter] === "function") out[name] = plain(obj[getter]());
  }
  for (const [name, getter] of [["roles", "getRoles"], ["profiles", "getProfiles"]]) {
    if (typeof obj[getter] === "function") out[name] = (obj[getter]() || []).map((x) => plain(x));
  }
  if (typeof obj.getCustomViews === "function") {
    out.custom_views = (obj.getCustomViews() || []).map((v) => plain(v));
  }
  const data = typeof obj.getData === "function" ? obj.getData() : null;
  // ActionWrapper, MassUpdateActionWrapper
  if (action && data !== null && data !== undefined) out.data = data.map(actionEntry);
  else if (data !== null && data !== undefined) out.data = data.map((r) => plain(r));
  const info = typeof obj.getInfo === "function" ? obj.getInfo() : null;
  if (info) {
    out.info = {};
    for (const [key, getter] of [["count", "getCount"], ["page", "getPage"],
      ["per_page", "getPerPage"], ["more_records", "getMoreRecords"],
      ["next_page_token", "getNextPageToken"], ["previous_page_token", "getPreviousPageToken"]]) {
      if (typeof info[getter] === "function") out.info[key] = plain(info[getter]());
    }
  }
  return out;
}

// ----------------------------------------------------------------------------- builders

function lead(values) {
  const record = new R.Record();
  for (const [key, value] of Object.entries(values)) {
    if (key === "id") record.setId(value);
    else if (key === "Lead_Source") {
      record.addFieldValue(R.Field.Leads.LEAD_SOURCE, new ZOHOCRMSDK.Choice(value));
    } else record.addKeyValue(key, value);
  }
  return record;
}

function ref(id) {
  const record = new R.Record();
  record.setId(id);
  return record;
}

function body(records, duplicateCheckFields) {
  const wrapper = new R.BodyWrapper();
  wrapper.setData(records);
  if (duplicateCheckFields) wrapper.setDuplicateCheckFields(duplicateCheckFields);
  return wrapper;
}

async function params(...pairs) {
  const map = new ZOHOCRMSDK.ParameterMap();
  for (const [param, value] of pairs) await map.add(param, value);
  return map;
}

function idsOf(result) {
  return (result.data || []).filter((e) => e.status === "success")
    .map((e) => BigInt(e.details.id));
}

// ----------------------------------------------------------------------------- steps

async function stepRecords(ctx, results) {
  const ops = new R.RecordOperations(MODULE);
  const created = results.insert = reply(await ops.createRecords(body([
    lead({ Last_Name: "Daly", First_Name: "Paul", Email: "paul@zylker.com", Company: "Zylker",
      Lead_Source: "Advertisement", No_of_Employees: 12, Annual_Revenue: 1250.5,
      Email_Opt_Out: true, Phone: "+1 555 0100", Website: "https://zylker.com",
      Description: "line one\nline two" }),
    lead({ Last_Name: "Boyle", Email: "patricia@zylker.com", Company: "Zylker",
      Ext_Ref: "EXT-1" }),
    lead({ Last_Name: "Kate", Email: "kate@zylker.com", Company: "Acme" }),
  ])));
  const ids = ctx.leadIds = idsOf(created);
  results.ids = ids.map(String);
  if (ids.length !== 3) return;
  const idList = ids.join(",");

  results.get_one = reply(await ops.getRecord(ids[0]));
  results.get_many = reply(await ops.getRecords(await params([R.GetRecordsParam.IDS, idList])));

  results.update_one = reply(await ops.updateRecord(ids[0], body([
    lead({ Company: "Zylker Corp", Designation: "CEO" })])));
  results.update_many = reply(await ops.updateRecords(body([
    lead({ id: ids[1], Company: "Boyle Inc" }),
    lead({ id: ids[2], Company: "Kate Ltd", No_of_Employees: 7 }),
  ])));
  results.after_update = reply(await ops.getRecords(
    await params([R.GetRecordsParam.IDS, idList])));

  results.upsert_default = reply(await ops.upsertRecords(body([
    lead({ Last_Name: "Daly", Email: "paul@zylker.com", Designation: "CTO" }),
    lead({ Last_Name: "New", Email: "new@zylker.com" }),
  ])));
  results.upsert_custom = reply(await ops.upsertRecords(body([
    lead({ Last_Name: "Boyle", Ext_Ref: "EXT-1", Designation: "VP" }),
    lead({ Last_Name: "Other", Ext_Ref: "EXT-2" }),
  ], ["Ext_Ref"])));

  results.search_criteria = reply(await ops.searchRecords(
    await params([R.SearchRecordsParam.CRITERIA, "(Company:equals:Zylker Corp)"])));
  results.search_email = reply(await ops.searchRecords(
    await params([R.SearchRecordsParam.EMAIL, "kate@zylker.com"])));
  results.delete = reply(await ops.deleteRecords(
    await params([R.DeleteRecordsParam.IDS, String(ids[2])])));
  results.get_deleted = reply(await ops.getRecord(ids[2]));

  const accounts = new R.RecordOperations("Accounts");
  results.insert_account = reply(await accounts.createRecords(body([
    lead({ Account_Name: "Zylker", Account_Number: 12345678901234n, Annual_Revenue: 99.0 })])));
  const accountIds = ctx.accountIds = idsOf(results.insert_account);
  if (accountIds.length) {
    const contacts = new R.RecordOperations("Contacts");
    results.insert_contact = reply(await contacts.createRecords(body([
      lead({ Last_Name: "Boyle", Account_Name: ref(accountIds[0]),
        Date_of_Birth: new Date(Date.UTC(1990, 4, 17)) })])));
    const contactIds = ctx.contactIds = idsOf(results.insert_contact);
    if (contactIds.length) results.get_contact = reply(await contacts.getRecord(contactIds[0]));
    results.get_account = reply(await accounts.getRecord(accountIds[0]));
  }
}

async function stepFields(ctx, results) {
  const F = ZOHOCRMSDK.Fields;
  results.fields = reply(await new F.FieldsOperations().getFields(
    await params([F.GetFieldsParam.MODULE, MODULE])));
}

async function stepUsers(ctx, results) {
  const U = ZOHOCRMSDK.Users;
  const ops = new U.UsersOperations();
  results.users_active = reply(await ops.getUsers(
    await params([U.GetUsersParam.TYPE, "ActiveUsers"])));
  results.users_current = reply(await ops.getUsers(
    await params([U.GetUsersParam.TYPE, "CurrentUser"])));
}

function massBody(field, value, { ids, cvid } = {}) {
  const record = new R.Record();
  record.addFieldValue(field, new ZOHOCRMSDK.Choice(value));
  const wrapper = new R.MassUpdateBodyWrapper();
  wrapper.setData([record]);
  if (ids) wrapper.setIds(ids);
  if (cvid) wrapper.setCvid(cvid);
  return wrapper;
}

// POST /Leads/actions/mass_update by ids (one unknown) and by the "All Leads" view's cvid
// (GET /settings/custom_views), then GET .../mass_update?job_id= until COMPLETED.
async function stepMassUpdate(ctx, results) {
  const ops = new R.RecordOperations(MODULE);
  const leads = [];
  for (let i = 0; i < 4; i++) {
    const record = lead({ Last_Name: `Mass${i}`, Company: "Mass Inc" });
    record.addFieldValue(R.Field.Leads.LEAD_STATUS, new ZOHOCRMSDK.Choice("Not Contacted"));
    leads.push(record);
  }
  const created = results.mass_insert = reply(await ops.createRecords(body(leads)));
  const ids = results.mass_ids = idsOf(created).map(String);
  if (ids.length !== 4) return;
  results.mass_by_ids = reply(await ops.massUpdateRecords(massBody(
    R.Field.Leads.LEAD_STATUS, "Contacted", { ids: [...ids.slice(0, 3), UNKNOWN_ID] })));
  const idParam = [R.GetRecordsParam.IDS, ids.join(",")];
  results.mass_after_ids = reply(await ops.getRecords(await params(idParam)));

  const CV = ZOHOCRMSDK.CustomViews;
  const views = results.mass_views = reply(await new CV.CustomViewsOperations().getCustomViews(
    await params([CV.GetCustomViewsParam.MODULE, MODULE])));
  const view = (views.custom_views || []).find((v) => v.name === "All Leads");
  if (!view) return;
  const scheduled = results.mass_by_cvid = reply(await ops.massUpdateRecords(massBody(
    R.Field.Leads.RATING, "Active", { cvid: String(view.id) })));
  const entries = scheduled.data || [];
  const jobId = results.mass_job_id = entries.length && entries[0].details
    ? entries[0].details.job_id : null;
  if (!jobId) return;
  const polls = results.mass_polls = [];
  const deadline = Date.now() + JOB_TIMEOUT_MS;
  for (;;) {
    const got = reply(await ops.getMassUpdateStatus(
      await params([R.GetMassUpdateStatusParam.JOB_ID, String(jobId)])));
    polls.push(got);
    const status = ((got.data || [])[0] || {}).status;
    if (status === "COMPLETED" || status === "FAILED" || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  results.mass_after_cvid = reply(await ops.getRecords(await params(idParam)));
}

// ----------------------------------------------------------------------------- issue 10 steps

async function createIds(module, records, results, name) {
  results[name] = reply(await new R.RecordOperations(module).createRecords(body(records)));
  return idsOf(results[name]);
}

// A related record for RelatedRecordsOperations: its id and the link's own fields.
function link(id, values = {}, choices = {}) {
  const record = new R.Record();
  if (id !== null && id !== undefined) record.setId(id);
  for (const [key, value] of Object.entries(values)) record.addKeyValue(key, value);
  for (const [key, value] of Object.entries(choices)) {
    record.addKeyValue(key, new ZOHOCRMSDK.Choice(value));
  }
  return record;
}

function relatedBody(records) {
  const wrapper = new ZOHOCRMSDK.RelatedRecords.BodyWrapper();
  wrapper.setData(records);
  return wrapper;
}

// Related records: a lookup list (Contacts of an Account: list, get one, delink one), Products
// of a Price Book with list_price (link two, list, update one link, delink by ids), Campaigns
// of a Lead with Member_Status (link one, list, delink).
async function stepRelated(ctx, results) {
  const RR = ZOHOCRMSDK.RelatedRecords;
  const [account] = await createIds("Accounts", [lead({ Account_Name: "Related Co" })], results,
    "rel_account");
  if (account === undefined) return;
  const contacts = await createIds("Contacts", [
    lead({ Last_Name: "First", Account_Name: ref(account) }),
    lead({ Last_Name: "Second", Account_Name: ref(account) })], results, "rel_contacts_insert");
  results.rel_contact_ids = contacts.map(String);
  if (contacts.length !== 2) return;
  const ofAccount = new RR.RelatedRecordsOperations("Contacts", "Accounts");
  results.rel_contacts = reply(await ofAccount.getRelatedRecords(account));
  results.rel_contact_one = reply(await ofAccount.getRelatedRecord(contacts[0], account));
  results.rel_contact_delink = reply(await ofAccount.delinkRecord(contacts[1], account));
  results.rel_contacts_after = reply(await ofAccount.getRelatedRecords(account));
  results.rel_contact_delinked = reply(
    await new R.RecordOperations("Contacts").getRecord(contacts[1]));

  const products = await createIds("Products", [lead({ Product_Name: "Widget" }),
    lead({ Product_Name: "Gadget" })], results, "rel_products_insert");
  const tier = new R.PricingDetails();
  tier.setFromRange(1.0);
  tier.setToRange(1000.0);
  tier.setDiscount(0.0);
  const bookRecord = lead({ Price_Book_Name: "Wholesale", Active: true, Pricing_Details: [tier] });
  bookRecord.addKeyValue("Pricing_Model", new ZOHOCRMSDK.Choice("Flat"));
  const [book] = await createIds("Price_Books", [bookRecord], results, "rel_book_insert");
  results.rel_product_ids = products.map(String);
  results.rel_book_id = String(book);
  if (products.length !== 2 || book === undefined) return;
  const ofBook = new RR.RelatedRecordsOperations("Products", "Price_Books");
  results.rel_book_link = reply(await ofBook.updateRelatedRecords(book, relatedBody([
    link(products[0], { list_price: 12.5 }), link(products[1], { list_price: 40.0 })])));
  results.rel_book_products = reply(await ofBook.getRelatedRecords(book));
  results.rel_book_update_one = reply(await ofBook.updateRelatedRecord(products[0], book,
    relatedBody([link(null, { list_price: 15.25 })])));
  results.rel_book_product_one = reply(await ofBook.getRelatedRecord(products[0], book));
  results.rel_book_delink = reply(await ofBook.delinkRecords(book,
    await params([RR.DelinkRecordsParam.IDS, String(products[1])])));
  results.rel_book_after = reply(await ofBook.getRelatedRecords(book));

  const [campaign] = await createIds("Campaigns", [lead({ Campaign_Name: "Spring Launch" })],
    results, "rel_campaign_insert");
  const [member] = await createIds("Leads", [lead({ Last_Name: "Member", Company: "Acme" })],
    results, "rel_member_insert");
  results.rel_campaign_id = String(campaign);
  if (campaign === undefined || member === undefined) return;
  const ofLead = new RR.RelatedRecordsOperations("Campaigns", "Leads");
  results.rel_campaign_link = reply(await ofLead.updateRelatedRecord(campaign, member,
    relatedBody([link(null, {}, { Member_Status: "Invited" })])));
  results.rel_campaigns = reply(await ofLead.getRelatedRecords(member));
  results.rel_campaign_delink = reply(await ofLead.delinkRecord(campaign, member));
  results.rel_campaigns_after = reply(await ofLead.getRelatedRecords(member));
}

function parentOf(module, id) {
  const N = ZOHOCRMSDK.Notes;
  const value = new N.ParentId();
  const target = new ZOHOCRMSDK.Modules.MinifiedModule();
  target.setAPIName(module);
  value.setModule(target);
  value.setId(id);
  return value;
}

function note({ title, content, parent, id } = {}) {
  const value = new ZOHOCRMSDK.Notes.Note();
  if (id !== undefined) value.setId(id);
  if (title !== undefined) value.setNoteTitle(title);
  if (content !== undefined) value.setNoteContent(content);
  if (parent !== undefined) value.setParentId(parent);
  return value;
}

function notesBody(notes) {
  const wrapper = new ZOHOCRMSDK.Notes.BodyWrapper();
  wrapper.setData(notes);
  return wrapper;
}

// Notes: create two on a Lead and one on an Account (POST /Notes, v8 Parent_Id), list, get
// one, update one, the Lead's Notes related list, delete one and then the rest.
async function stepNotes(ctx, results) {
  const N = ZOHOCRMSDK.Notes;
  const ops = new N.NotesOperations();
  const [noted] = await createIds("Leads", [lead({ Last_Name: "Noted", Company: "Acme" })],
    results, "notes_parent_insert");
  const [account] = await createIds("Accounts", [lead({ Account_Name: "Noted Co" })], results,
    "notes_account_insert");
  results.notes_parent_id = String(noted);
  results.notes_account_id = String(account);
  if (noted === undefined || account === undefined) return;
  const created = results.notes_create = reply(await ops.createNotes(notesBody([
    note({ title: "First", content: "first body\nline two", parent: parentOf("Leads", noted) }),
    note({ title: "Second", content: "second body", parent: parentOf("Leads", noted) }),
    note({ title: "Third", content: "third body", parent: parentOf("Accounts", account) })])));
  const ids = idsOf(created);
  results.notes_ids = ids.map(String);
  if (ids.length !== 3) return;
  const fields = "Note_Title,Note_Content,Parent_Id,Owner,Created_Time";
  results.notes_list = reply(await ops.getNotes(await params([N.GetNotesParam.FIELDS, fields])));
  results.notes_get = reply(await ops.getNote(ids[0],
    await params([N.GetNoteParam.FIELDS, fields])));
  results.notes_update = reply(await ops.updateNote(ids[0], notesBody([
    note({ title: "First (edited)", content: "edited body" })])));
  results.notes_after_update = reply(await ops.getNote(ids[0],
    await params([N.GetNoteParam.FIELDS, fields])));
  const ofLead = new ZOHOCRMSDK.RelatedRecords.RelatedRecordsOperations("Notes", "Leads");
  results.notes_of_lead = reply(await ofLead.getRelatedRecords(noted));
  results.notes_delete_one = reply(await ops.deleteNote(ids[1]));
  results.notes_of_lead_after = reply(await ofLead.getRelatedRecords(noted));
  results.notes_update_many = reply(await ops.updateNotes(notesBody([
    note({ title: "First (bulk)", id: ids[0] }), note({ content: "third (bulk)", id: ids[2] })])));
  const change = new R.Record();
  change.addKeyValue("Note_Content", "through the related list");
  results.notes_related_update = reply(await ofLead.updateRelatedRecord(ids[0], noted,
    relatedBody([change])));
  results.notes_related_get = reply(await ofLead.getRelatedRecord(ids[0], noted));
  results.notes_after_bulk = reply(await ops.getNotes(await params(
    [N.GetNotesParam.FIELDS, fields], [N.GetNotesParam.IDS, `${ids[0]},${ids[2]}`])));
  results.notes_related_delete = reply(await ofLead.delinkRecord(ids[0], noted));
  results.notes_delete_many = reply(await ops.deleteNotes(
    await params([N.DeleteNotesParam.IDS, `${ids[0]},${ids[2]}`])));
  results.notes_get_deleted = reply(await ops.getNote(ids[0],
    await params([N.GetNoteParam.FIELDS, fields])));
}

function tag({ name, id, colorCode } = {}) {
  const value = new ZOHOCRMSDK.Tags.Tag();
  if (name !== undefined) value.setName(name);
  if (id !== undefined) value.setId(id);
  if (colorCode !== undefined) value.setColorCode(new ZOHOCRMSDK.Choice(colorCode));
  return value;
}

function tagRequest(names, { ids, overWrite, existing } = {}) {
  const T = ZOHOCRMSDK.Tags;
  let wrapper;
  if (existing) {
    wrapper = new T.ExistingTagRequestWrapper();
    wrapper.setTags(names.map((name) => {
      const item = new T.ExistingTag();
      item.setName(name);
      return item;
    }));
  } else {
    wrapper = new T.NewTagRequestWrapper();
    wrapper.setTags(names.map((name) => tag({ name })));
    if (overWrite !== undefined) wrapper.setOverWrite(overWrite);
  }
  if (ids !== undefined) wrapper.setIds(ids);
  return wrapper;
}

// Tags: create two on Leads (/settings/tags), list them, add tags to one record and to
// several, read the records' Tag field, remove from one record and from several.
async function stepTags(ctx, results) {
  const T = ZOHOCRMSDK.Tags;
  const ops = new T.TagsOperations();
  const leads = await createIds("Leads", [0, 1, 2].map((i) => lead({
    Last_Name: `Tagged${i}`, Company: "Tag Inc" })), results, "tags_leads_insert");
  results.tags_lead_ids = leads.map(String);
  if (leads.length !== 3) return;
  const wrapper = new T.BodyWrapper();
  wrapper.setTags([tag({ name: "Hot", colorCode: "#F48435" }), tag({ name: "Priority" })]);
  results.tags_create = reply(await ops.createTags(wrapper,
    await params([T.CreateTagsParam.MODULE, MODULE])));
  results.tags_list = reply(await ops.getTags(await params([T.GetTagsParam.MODULE, MODULE])));
  results.tags_add_one = reply(await ops.addTags(MODULE, leads[0], tagRequest(["Hot"])));
  results.tags_add_many = reply(await ops.addTagsToMultipleRecords(MODULE,
    tagRequest(["Priority", "Fresh"], { ids: leads }),
    await params([T.AddTagsToMultipleRecordsParam.OVER_WRITE, "false"])));
  const idParam = [R.GetRecordsParam.IDS, leads.join(",")];
  const records = new R.RecordOperations(MODULE);
  results.tags_records = reply(await records.getRecords(await params(idParam)));
  results.tags_remove_one = reply(await ops.removeTags(MODULE, leads[0],
    tagRequest(["Hot"], { existing: true })));
  results.tags_remove_many = reply(await ops.removeTagsFromMultipleRecords(MODULE,
    tagRequest(["Priority"], { ids: leads.slice(1), existing: true }),
    await params([T.RemoveTagsFromMultipleRecordsParam.IDS, leads.slice(1).join(",")])));
  results.tags_records_after = reply(await records.getRecords(await params(idParam)));
  results.tags_list_after = reply(await ops.getTags(
    await params([T.GetTagsParam.MODULE, MODULE])));
}

// Tag definitions: count a tag's records, rename/recolour one (PUT /settings/tags/{id}) and
// several (PUT /settings/tags), merge one into another, delete one.
async function stepTagsManage(ctx, results) {
  const T = ZOHOCRMSDK.Tags;
  const ops = new T.TagsOperations();
  const leads = await createIds("Leads", [0, 1].map((i) => lead({
    Last_Name: `Managed${i}`, Company: "Tag Inc" })), results, "tm_leads_insert");
  let wrapper = new T.BodyWrapper();
  wrapper.setTags([tag({ name: "Alpha" }), tag({ name: "Beta" })]);
  const created = results.tm_create = reply(await ops.createTags(wrapper,
    await params([T.CreateTagsParam.MODULE, MODULE])));
  const tagIds = (created.tags || []).filter((e) => e.status === "success")
    .map((e) => BigInt(e.details.id));
  results.tm_tag_ids = tagIds.map(String);
  if (leads.length !== 2 || tagIds.length !== 2) return;
  const [alpha, beta] = tagIds;
  results.tm_tag = reply(await ops.addTagsToMultipleRecords(MODULE,
    tagRequest(["Alpha"], { ids: leads }),
    await params([T.AddTagsToMultipleRecordsParam.OVER_WRITE, "false"])));
  results.tm_tag_second = reply(await ops.addTags(MODULE, leads[1], tagRequest(["Beta"])));
  const count = await ops.getRecordCountForTag(alpha,
    await params([T.GetRecordCountForTagParam.MODULE, MODULE]));
  const got = results.tm_count = reply(count);
  if (count && count.getObject() && typeof count.getObject().getCount === "function") {
    got.count = plain(count.getObject().getCount());
  }
  wrapper = new T.BodyWrapper();
  wrapper.setTags([tag({ name: "Alpha One", colorCode: "#57B1FD" })]);
  results.tm_update_one = reply(await ops.updateTag(alpha, wrapper,
    await params([T.UpdateTagParam.MODULE, MODULE])));
  wrapper = new T.BodyWrapper();
  wrapper.setTags([tag({ name: "Beta Two", id: beta })]);
  results.tm_update_many = reply(await ops.updateTags(wrapper,
    await params([T.UpdateTagsParam.MODULE, MODULE])));
  results.tm_after_update = reply(await ops.getTags(
    await params([T.GetTagsParam.MODULE, MODULE])));
  const conflict = new T.ConflictWrapper();
  conflict.setConflictId(String(beta));
  const merge = new T.MergeWrapper();
  merge.setTags([conflict]);
  results.tm_merge = reply(await ops.mergeTags(alpha, merge));
  const records = new R.RecordOperations(MODULE);
  const idParam = [R.GetRecordsParam.IDS, leads.join(",")];
  results.tm_records_merged = reply(await records.getRecords(await params(idParam)));
  results.tm_delete = reply(await ops.deleteTag(beta));
  results.tm_records_after = reply(await records.getRecords(await params(idParam)));
  results.tm_list_after = reply(await ops.getTags(await params([T.GetTagsParam.MODULE, MODULE])));
}

// Link attachments (POST ?attachmentUrl=&title=): listed with their URL, download refused
// (DOWNLOAD_NOT_ALLOWED), deleted with DELETE ?ids=.
async function stepAttachmentLinks(ctx, results) {
  const A = ZOHOCRMSDK.Attachments;
  const ops = new A.AttachmentsOperations();
  const [owner] = await createIds("Leads", [lead({ Last_Name: "Linked", Company: "Acme" })],
    results, "al_parent_insert");
  if (owner === undefined) return;
  const uploaded = results.al_upload = reply(await ops.uploadUrlAttachments(owner, MODULE,
    await params([A.UploadUrlAttachmentsParam.ATTACHMENTURL, "https://example.com/spec.pdf"],
      [A.UploadUrlAttachmentsParam.TITLE, "Spec sheet"])));
  const [att] = idsOf(uploaded);
  results.al_id = String(att);
  if (att === undefined) return;
  results.al_list = reply(await ops.getAttachments(owner, MODULE,
    await params([A.GetAttachmentsParam.FIELDS, "id,File_Name,$link_url,Size"])));
  // as for a file, the SDK's Downloader path hands back a Promise: awaited
  const response = await ops.getAttachment(att, owner, MODULE);
  const refused = response ? await response.getObject() : null;
  results.al_download = { status_code: response ? response.getStatusCode() : null,
    type: refused ? typeName(refused) : null };
  if (refused && typeName(refused) === "APIException") {
    results.al_download.error = actionEntry(refused);
  }
  results.al_delete = reply(await ops.deleteAttachments(owner, MODULE,
    await params([A.DeleteAttachmentsParam.IDS, String(att)])));
  results.al_list_after = reply(await ops.getAttachments(owner, MODULE,
    await params([A.GetAttachmentsParam.FIELDS, "id,File_Name"])));
}

// The same bytes as sdk8_driver.ATTACHMENT_BYTES: every byte value, CR LF, NULs, a multipart
// boundary look-alike, a PNG signature and UTF-8 text.
function attachmentBytes() {
  const all = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), all, all, all, all,
    Buffer.from("\r\n--boundary--\r\n", "latin1"), Buffer.alloc(64),
    Buffer.from("naïve ☃", "utf8"), Buffer.from([0xff, 0xfe])]);
}
const ATTACHMENT_NAME = "scan-2026.bin";

// Attachments: upload a binary file to a Lead (multipart/form-data), list them, download it
// (the driver hashes what the SDK wrote to WORK), delete it, list again.
async function stepAttachments(ctx, results) {
  const A = ZOHOCRMSDK.Attachments;
  const ops = new A.AttachmentsOperations();
  const [owner] = await createIds("Leads", [lead({ Last_Name: "Attached", Company: "Acme" })],
    results, "att_parent_insert");
  results.att_parent_id = String(owner);
  if (owner === undefined) return;
  const bytes = attachmentBytes();
  const source = path.join(ctx.work, ATTACHMENT_NAME);
  fs.writeFileSync(source, bytes);
  results.att_sha256 = crypto.createHash("sha256").update(bytes).digest("hex");
  results.att_size = bytes.length;
  const upload = new A.FileBodyWrapper();
  upload.setFile(new ZOHOCRMSDK.StreamWrapper(null, null, source));
  const uploaded = results.att_upload = reply(await ops.uploadAttachments(owner, MODULE, upload));
  const [att] = idsOf(uploaded);
  results.att_id = String(att);
  if (att === undefined) return;
  const fields = "id,File_Name,Size,Created_Time,Parent_Id,Owner";
  results.att_list = reply(await ops.getAttachments(owner, MODULE,
    await params([A.GetAttachmentsParam.FIELDS, fields])));
  const response = await ops.getAttachment(att, owner, MODULE);
  // The SDK's Downloader hands back its FileBodyWrapper as a Promise: getObject() is awaited.
  const wrapper = response ? await response.getObject() : null;
  const got = results.att_download = {
    status_code: response ? response.getStatusCode() : null, type: wrapper ? typeName(wrapper) : null,
  };
  if (wrapper && typeof wrapper.getFile === "function") {
    const stream = wrapper.getFile();
    const target = path.join(ctx.work, "downloaded-" + (stream.getName() || "file"));
    fs.writeFileSync(target, stream.getStream());
    const written = fs.readFileSync(target);
    got.file_name = stream.getName();
    got.sha256 = crypto.createHash("sha256").update(written).digest("hex");
    got.size = written.length;
  }
  results.att_delete = reply(await ops.deleteAttachment(att, owner, MODULE));
  results.att_list_after = reply(await ops.getAttachments(owner, MODULE,
    await params([A.GetAttachmentsParam.FIELDS, fields])));
}

// Users CRUD: a role and a profile from /settings/roles and /settings/profiles, then create a
// user, get it, update it, delete it and get it again.
async function stepUsersCrud(ctx, results) {
  const U = ZOHOCRMSDK.Users;
  const ops = new U.UsersOperations();
  const roles = results.uc_roles = reply(await new ZOHOCRMSDK.Roles.RolesOperations().getRoles());
  const profiles = results.uc_profiles = reply(
    await new ZOHOCRMSDK.Profiles.ProfilesOperations().getProfiles());
  const role = (roles.roles || []).find((r) => r.name === "CEO");
  const profile = (profiles.profiles || []).find((p) => p.name === "Standard");
  results.uc_role_id = role ? String(role.id) : null;
  results.uc_profile_id = profile ? String(profile.id) : null;
  if (!role || !profile) return;
  const user = new U.Users();
  user.setFirstName("Grace");
  user.setLastName("Hopper");
  user.setEmail("grace@zylker.com");
  const userRole = new U.Role();
  userRole.setId(BigInt(role.id));
  const userProfile = new U.Profile();
  userProfile.setId(BigInt(profile.id));
  user.setRole(userRole);
  user.setProfile(userProfile);
  let wrapper = new U.BodyWrapper();
  wrapper.setUsers([user]);
  // @zohocrm/nodejs-sdk-8.0 2.0.0's json_details lists only APIException as users'
  // ActionHandler (the Python SDK lists ActionWrapper too), so it cannot parse any successful
  // POST/PUT/DELETE /users reply, Zoho's or Corral's: the call throws after the request was
  // answered. The driver records that error and reads the outcome with getUsers / getUser.
  results.uc_create = await sdkAction(() => ops.createUsers(wrapper));
  const active = results.uc_active = reply(await ops.getUsers(
    await params([U.GetUsersParam.TYPE, "ActiveUsers"])));
  const found = (active.users || []).find((u) => u.email === "grace@zylker.com");
  const userId = found ? BigInt(found.id) : undefined;
  results.uc_user_id = String(userId);
  if (userId === undefined) return;
  results.uc_get = reply(await ops.getUser(userId));
  const change = new U.Users();
  change.setPhone("+1 555 0199");
  change.setLastName("Hopper-Murray");
  wrapper = new U.BodyWrapper();
  wrapper.setUsers([change]);
  results.uc_update = await sdkAction(() => ops.updateUser(userId, wrapper));
  results.uc_after_update = reply(await ops.getUser(userId));
  const count = await ops.usersCount(await params([U.UsersCountParam.TYPE, "ActiveUsers"]));
  const got = results.uc_count = reply(count);
  if (count && count.getObject() && typeof count.getObject().getCount === "function") {
    got.count = plain(count.getObject().getCount());
  }
  results.uc_delete = await sdkAction(() => ops.deleteUser(userId));
  results.uc_get_deleted = reply(await ops.getUser(userId));
  results.uc_deactive = reply(await ops.getUsers(
    await params([U.GetUsersParam.TYPE, "DeactiveUsers"])));
}

// An SDK call whose reply the SDK may fail to parse: its reply, or {sdk_error} with the error.
async function sdkAction(call) {
  try {
    return reply(await call());
  } catch (exc) {
    const cause = exc && exc.cause ? String(exc.cause.stack || exc.cause) : "";
    return { status_code: null, type: "SDKException",
      sdk_error: String(exc && exc.message ? exc.message : exc), sdk_cause: cause };
  }
}

const PAGE_TOKEN_RECORDS = 2500;

// 2,500 Leads inserted 100 per call, then GET /Leads 200 per page following
// info.next_page_token while more_records, 100 more Leads inserted after the third page; the
// ids read are compared by the test.
async function stepPageToken(ctx, results) {
  const ops = new R.RecordOperations(MODULE);
  const inserted = [];
  for (let start = 0; start < PAGE_TOKEN_RECORDS; start += 100) {
    const records = [];
    for (let i = start; i < start + 100; i++) {
      records.push(lead({ Last_Name: `Page${String(i).padStart(4, "0")}`,
        Company: "Paging Inc" }));
    }
    const got = reply(await ops.createRecords(body(records)));
    if (got.status_code !== 201) {
      results.pt_insert_failed = got;
      return;
    }
    inserted.push(...idsOf(got).map(String));
  }
  results.pt_inserted = inserted;
  const pages = [];
  const read = [];
  let token = null;
  while (pages.length < (2 * PAGE_TOKEN_RECORDS) / 200) {
    const pairs = [[R.GetRecordsParam.FIELDS, "Last_Name,Company"],
      [R.GetRecordsParam.PER_PAGE, 200]];
    if (token !== null) pairs.push([R.GetRecordsParam.PAGE_TOKEN, token]);
    const got = reply(await ops.getRecords(await params(...pairs)));
    const info = got.info || {};
    pages.push({ status_code: got.status_code, type: got.type, count: info.count,
      more_records: info.more_records, has_next_token: info.next_page_token != null,
      sent_token: token !== null });
    for (const r of got.data || []) if (r.Company === "Paging Inc") read.push(String(r.id));
    token = info.next_page_token ?? null;
    if (!info.more_records || token === null) break;
    if (pages.length === 3) { // records inserted meanwhile must not shift the listing
      const late = [];
      for (let i = 0; i < 100; i++) {
        late.push(lead({ Last_Name: `Late${String(i).padStart(3, "0")}`, Company: "Paging Inc" }));
      }
      results.pt_late = idsOf(reply(await ops.createRecords(body(late)))).map(String);
    }
  }
  results.pt_pages = pages;
  results.pt_read = read;
}

const STEPS = {
  records: stepRecords, fields: stepFields, users: stepUsers, mass_update: stepMassUpdate,
  related: stepRelated, notes: stepNotes, tags: stepTags, attachments: stepAttachments,
  users_crud: stepUsersCrud, page_token: stepPageToken, tags_manage: stepTagsManage,
  attachment_links: stepAttachmentLinks,
};

// ----------------------------------------------------------------------------- main

function tokenFrom(auth) {
  const builder = new ZOHOCRMSDK.OAuthBuilder();
  if (auth.access_token) return builder.accessToken(auth.access_token).build();
  builder.clientId(auth.client_id).clientSecret(auth.client_secret);
  if (auth.refresh_token) return builder.refreshToken(auth.refresh_token).build();
  builder.grantToken(auth.grant_token);
  if (auth.redirect_url) builder.redirectURL(auth.redirect_url);
  return builder.build();
}

async function run(baseUrl, auth, work, steps, results) {
  const environment = ZOHOCRMSDK.DataCenter.setEnvironment(
    baseUrl, baseUrl + "/oauth/v2/token", baseUrl);
  const logger = new ZOHOCRMSDK.LogBuilder().level(ZOHOCRMSDK.Levels.INFO)
    .filePath(path.join(work, "sdk.log")).build();
  const store = new ZOHOCRMSDK.FileStore(path.join(work, "tokens.txt"));
  // The SDK's Utility.getRelatedLists builds its cache file as resourcePath + "resources/..."
  // (no separator, unlike everywhere else): a resource path ending in a separator is what the
  // related records calls need (an SDK bug; the path itself is the same folder).
  const resourcePath = work.endsWith(path.sep) ? work : work + path.sep;
  const sdkConfig = new ZOHOCRMSDK.SDKConfigBuilder().autoRefreshFields(false)
    .pickListValidation(true).build();
  await (await new ZOHOCRMSDK.InitializeBuilder()).environment(environment)
    .token(tokenFrom(auth)).store(store).SDKConfig(sdkConfig).resourcePath(resourcePath)
    .logger(logger).initialize();
  const ctx = { baseUrl, work };
  for (const name of steps) {
    if (!STEPS[name]) throw new Error(`unknown step ${name}`);
    await STEPS[name](ctx, results);
    (results.steps_done = results.steps_done || []).push(name);
  }
}

async function main() {
  const [baseUrl, auth, work, ...rest] = process.argv.slice(2);
  const steps = rest.length ? rest : Object.keys(STEPS);
  const results = {};
  try {
    await run(baseUrl, JSON.parse(auth), work, steps, results);
  } catch (exc) {
    results.error = {
      type: typeName(exc),
      text: String(exc && exc.message ? exc.message : exc),
      traceback: exc && exc.stack ? exc.stack : "",
    };
    if (exc && typeof exc.getDetails === "function") results.error.details = plain(exc.getDetails());
    if (exc && typeof exc.getCode === "function") results.error.code = plain(exc.getCode());
    if (exc && exc.cause) results.error.cause = String(exc.cause && exc.cause.stack || exc.cause);
  }
  process.stdout.write("\n" + JSON.stringify(results, (k, v) => (typeof v === "bigint" ? v.toString() : v)) + "\n");
}

await main();
