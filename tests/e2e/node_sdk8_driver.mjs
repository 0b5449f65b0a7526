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
          const key = name[3].toLowerCase() + name.slice(4);
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
  if (typeof obj.getUsers === "function") out.users = (obj.getUsers() || []).map((u) => plain(u));
  if (typeof obj.getCustomViews === "function") {
    out.custom_views = (obj.getCustomViews() || []).map((v) => plain(v));
  }
  const data = typeof obj.getData === "function" ? obj.getData() : null;
  // ActionWrapper, MassUpdateActionWrapper
  if (out.type.endsWith("ActionWrapper")) out.data = (data || []).map(actionEntry);
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

const STEPS = {
  records: stepRecords, fields: stepFields, users: stepUsers, mass_update: stepMassUpdate,
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
  const sdkConfig = new ZOHOCRMSDK.SDKConfigBuilder().autoRefreshFields(false)
    .pickListValidation(true).build();
  await (await new ZOHOCRMSDK.InitializeBuilder()).environment(environment)
    .token(tokenFrom(auth)).store(store).SDKConfig(sdkConfig).resourcePath(work)
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
