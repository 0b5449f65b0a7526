"""Hostile and malformed input (issue 17): a Zoho-shaped 4xx, never a 500, and nothing changes.

Each case is sent to a server holding one lead; the answer must be a 4xx JSON error object
(`code`, `details`, `message`, `status`; top-level or wrapped the way Zoho wraps that API's
body errors) with no traceback or SQL in it, and the database must be exactly as before. Runs
on SQLite and PostgreSQL (PostgreSQL refuses NUL in text and JSON, SQLite does not).

A few inputs are not errors in Zoho's API and are checked for what they are: `per_page` above
200 is clamped (COMPATIBILITY.md), SQL inside a well-formed criteria value is just a value that
matches nothing.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from corral.services import Corral
from corral.storage import tables as t
from tests.conftest import Api

MB = 1024 * 1024
HUGE_INT = 2**64  # beyond a signed 64-bit id
DEEP = 10_000
FORBIDDEN = ("Traceback", 'File "', "sqlalchemy", "psycopg", "sqlite3", "[SQL:", "Error(")
ERROR_KEYS = {"code", "details", "message", "status"}


# ----------------------------------------------------------------------------- checking
def _json(obj: Any) -> bytes:
    """JSON with what orjson will not write: ints past 64 bits, lone surrogates, and DEEP_VALUE
    replaced by an array nested 1,000 deep (within the server's JSON parser's 1,024 limit)."""
    text = json.dumps(obj)
    return text.replace(json.dumps(DEEP_VALUE), "[" * 1000 + '"x"' + "]" * 1000).encode(
        "utf-8", "surrogatepass")


DEEP_VALUE = "<deep>"


def _error_objects(body: Any) -> list[Any]:
    """The error objects of a Zoho error body: top-level, `{"key": error}` or
    `{"key": [errors...]}` (batch results, `{"fields": [...]}`, `{"custom_views": [...]}`)."""
    if isinstance(body, dict) and set(body) == ERROR_KEYS:
        return [body]
    if isinstance(body, dict) and len(body) == 1:
        (inner,) = body.values()
        if isinstance(inner, dict):
            return [inner]
        if isinstance(inner, list) and inner:
            return list(inner)
    raise AssertionError(f"not a Zoho error body: {body!r:.300}")


def assert_refused(r: Any, case: object) -> dict[str, Any]:
    """A 4xx with a Zoho error body, no traceback, no SQL; returns the (first) error."""
    text = r.text
    assert 400 <= r.status_code < 500, (case, r.status_code, text[:500])
    for marker in FORBIDDEN:
        assert marker not in text, (case, marker, text[:500])
    assert r.headers["content-type"].startswith("application/json"), case
    errors = _error_objects(r.json())
    for err in errors:
        assert isinstance(err, dict) and set(err) == ERROR_KEYS, (case, err)
        assert err["status"] == "error" and isinstance(err["details"], dict), (case, err)
        assert isinstance(err["code"], str) and isinstance(err["message"], str), (case, err)
    return dict(errors[0])


# ----------------------------------------------------------------------------- the world
@dataclass
class World:
    corral: Corral
    api: Api
    lead: str
    field_id: str

    def snapshot(self) -> dict[str, list[Any]]:
        """Every table a request could change, row by row."""
        tables = (t.records, t.record_keys, t.fields, t.modules, t.custom_views, t.jobs,
                  t.job_items, t.territories, t.record_territories, t.blueprints,
                  t.automation_rules, t.webhook_outbox, t.dup_check_preferences,
                  t.change_log)
        with self.corral.db.read() as conn:
            return {tbl.name: [tuple(row) for row in conn.execute(
                sa.select(tbl).order_by(*tbl.primary_key.columns))] for tbl in tables}

    def send(self, method: str, path: str, *, content: bytes | None = None,
             params: dict[str, str] | None = None, token: str | None = None) -> Any:
        url = path.format(lead=self.lead, field=self.field_id)
        url = url if url.startswith("/") else self.api.url(url)  # /crm/bulk/... as they are
        if params:  # encoded here: lone surrogates go out as their (invalid) UTF-8 bytes
            url += ("&" if "?" in url else "?") + "&".join(
                f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
                for k, v in params.items())
        return self.api.client.request(method, url, content=content,
                                       headers=self.api.headers(token))


@pytest.fixture
def world(corral: Corral, api: Api) -> Iterator[World]:
    (lead,) = api.insert("Leads", {"Last_Name": "Daly", "Company": "Zylker",
                                   "Email": "paul@zylker.com"})
    field = api.get("settings/fields", params={"module": "Leads"}).json()["fields"][0]["id"]
    w = World(corral, api, lead, field)
    before = w.snapshot()
    yield w
    after = w.snapshot()
    assert after == before, "the request changed the database"


# ----------------------------------------------------------------------------- bodies
BODY_ROUTES = [
    ("POST", "Leads"), ("PUT", "Leads"), ("PUT", "Leads/{lead}"), ("POST", "Leads/upsert"),
    ("POST", "Leads/actions/mass_update"), ("POST", "Leads/{lead}/actions/convert"),
    ("POST", "Leads/{lead}/actions/approve"), ("PUT", "Leads/{lead}/actions/blueprint"),
    ("POST", "Leads/actions/assign_territories"),
    ("POST", "settings/custom_views?module=Leads"), ("POST", "settings/fields?module=Leads"),
    ("PATCH", "settings/fields/{field}?module=Leads"), ("POST", "settings/modules"),
    ("POST", "settings/duplicate_check_preference?module=Leads"),
    ("PUT", "settings/duplicate_check_preference?module=Leads"),
    ("POST", "settings/territories"), ("POST", "settings/blueprints?module=Leads"),
    ("POST", "settings/automation/workflow_rules?module=Leads"),
    ("POST", "settings/automation/approval_processes?module=Leads"),
    ("POST", "settings/automation/layout_rules?module=Leads"),
]
BROKEN_JSON = {
    "truncated": b'{"data": [{"Last_Name": "x"}',
    "not json": b"Last_Name=x",
    "two documents": b'{"data": []}{"data": []}',
    "invalid utf-8": b'{"data": [{"Last_Name": "\xff\xfe"}]}',
    "byte order mark": b'\xef\xbb\xbf{"data": [{"Last_Name": "x"}]}',
    "NaN": b'{"data": [{"Last_Name": "x", "No_of_Employees": NaN}]}',
    "infinite number": b'{"data": [{"Last_Name": "x", "No_of_Employees": 1e400}]}',
    "lone high surrogate": b'{"data": [{"Last_Name": "\\ud800"}]}',
    "lone low surrogate": b'{"data": [{"Last_Name": "x\\udfffy"}]}',
    "raw surrogate bytes": b'{"data": [{"Last_Name": "\xed\xa0\x80"}]}',
    "deep arrays": b"[" * DEEP + b"]" * DEEP,
    "deep objects": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    "deep in a record": b'{"data": [{"Last_Name": ' + b"[" * DEEP + b"]" * DEEP + b"}]}",
}
WRONG_SHAPES = {
    "array for object": b'[{"Last_Name": "x"}]',
    "string": b'"data"',
    "number": b"123",
    "null": b"null",
    "true": b"true",
    "object for array": b'{"data": {"Last_Name": "x"}}',
    "string for array": b'{"data": "Last_Name"}',
    "arrays for records": b'{"data": [["Last_Name", "x"]]}',
    "numbers for records": b'{"data": [1, 2]}',
    "nulls for records": b'{"data": [null]}',
    "empty key": b'{"": []}',
}




# Record-shaped bodies: the top-level key each route reads its items from.
ITEM_KEYS = {path: key for key, paths in {
    "data": ["Leads", "Leads/{lead}", "Leads/upsert", "Leads/actions/mass_update",
             "Leads/{lead}/actions/convert", "Leads/{lead}/actions/approve",
             "Leads/actions/assign_territories"],
    "blueprint": ["Leads/{lead}/actions/blueprint"],
    "custom_views": ["settings/custom_views?module=Leads"],
    "fields": ["settings/fields?module=Leads", "settings/fields/{field}?module=Leads"],
    "modules": ["settings/modules"],
    "territories": ["settings/territories"],
    "blueprints": ["settings/blueprints?module=Leads"],
    "duplicate_check_preference": ["settings/duplicate_check_preference?module=Leads"],
    "workflow_rules": ["settings/automation/workflow_rules?module=Leads"],
    "approval_processes": ["settings/automation/approval_processes?module=Leads"],
    "layout_rules": ["settings/automation/layout_rules?module=Leads"],
}.items() for path in paths}


CRITERIA_ROUTES = {"custom_views", "workflow_rules", "approval_processes", "layout_rules",
                   "blueprints"}
# Every key some route reads from its items, so each bad value meets real handling code.
ITEM_FIELDS = ("name", "api_name", "field_label", "data_type", "type", "length", "unique",
               "singular_label", "plural_label", "Last_Name", "Email", "Owner", "id", "action",
               "transition_id", "data", "Accounts", "Contacts", "Deals", "assign_to",
               "overwrite", "Territories", "reporting_to", "field", "states", "transitions",
               "criteria", "when", "actions", "approvers", "mandatory", "access_type",
               "field_mappings", "type_configurations", "Lead_Status")


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def _item_bodies(key: str) -> dict[str, bytes]:
    leaf = {"comparator": "equal", "field": {"api_name": "Last_Name"}, "value": "x"}
    deep_criteria: Any = leaf
    for _ in range(45):  # past criteria's 32 levels, within the body's 100
        deep_criteria = {"group_operator": "and", "group": [deep_criteria, leaf]}
    items: dict[str, Any] = {
        "object for array": {key: {"name": "x"}},
        "string for array": {key: "x"},
        "arrays in array": {key: [[{"name": "x"}]]},
        "null item": {key: [None]},
        "deep list item": {key: [DEEP_VALUE]},
        "deep everywhere": {key: [{k: DEEP_VALUE for k in ITEM_FIELDS}]},
        "nested lists everywhere": {key: [{k: _nested(90) for k in ITEM_FIELDS}]},
        "objects everywhere": {key: [{k: {"id": {"id": ["x"]}} for k in ITEM_FIELDS}]},
        "1 MB strings": {key: [{k: "x" * MB for k in ITEM_FIELDS}]},
        "NUL strings": {key: [{k: "a\x00b" for k in ITEM_FIELDS}]},
        "lone surrogates": {key: [{k: "a\ud800b" for k in ITEM_FIELDS}]},
        "NUL keys": {key: [{"Last\x00Name": "x", "\x00": "y", "na\x00me": "z"}]},
    }
    if key in CRITERIA_ROUTES:
        items["deep criteria"] = {key: [{"name": "x", "criteria": deep_criteria}]}
    return {name: _json(body) for name, body in items.items()}


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_bad_bodies(world: World, method: str, path: str) -> None:
    """Broken JSON, wrong shapes, wrong types, deep nesting, 1 MB strings, NUL, surrogates."""
    bodies = {**BROKEN_JSON, **WRONG_SHAPES, **_item_bodies(ITEM_KEYS[path])}
    for name, body in bodies.items():
        assert_refused(world.send(method, path, content=body), (name, method, path))


# ----------------------------------------------------------------------------- record fields
BAD_FIELDS: dict[str, Any] = {
    "1 MB name": {"Last_Name": "x" * MB},
    "1 MB text area": {"Description": "x" * (MB // 8)},  # over its 32,000 characters
    "array for string": {"Last_Name": ["x"]},
    "object for string": {"Last_Name": {"x": 1}},
    "NUL in name": {"Last_Name": "a\x00b"},
    "NUL in email": {"Email": "a\x00@zylker.com"},
    "NUL in phone": {"Phone": "555\x00"},
    "NUL in picklist": {"Lead_Source": "\x00"},
    "NUL in text area": {"Description": "\x00"},
    "array for picklist": {"Lead_Source": ["Web"]},
    "string for owner": {"Owner": "someone"},
    "array for owner": {"Owner": [{"id": "1"}]},
    "negative owner": {"Owner": {"id": -1}},
    "huge owner": {"Owner": {"id": HUGE_INT}},
    "text owner": {"Owner": {"id": "abc"}},
    "NUL owner": {"Owner": {"id": "\x00"}},
    "text number": {"No_of_Employees": "abc"},
    "huge number": {"No_of_Employees": HUGE_INT * HUGE_INT},
    "fraction for integer": {"No_of_Employees": 1.5},
    "huge currency": {"Annual_Revenue": "9" * 400},
    "text boolean": {"Email_Opt_Out": "yes"},
    "NUL date-time": {"Last_Activity_Time": "2024-01-01T00:00:00\x00"},
    "deep value": {"Last_Name": DEEP_VALUE},
    "nested value": {"Last_Name": _nested(90)},
    "deep owner": {"Owner": {"id": DEEP_VALUE}},
    "lone surrogate": {"Last_Name": "a\udc00"},
}
RECORD_ROUTES = [("POST", "Leads"), ("PUT", "Leads"), ("PUT", "Leads/{lead}"),
                 ("POST", "Leads/upsert")]


@pytest.mark.parametrize(("method", "path"), RECORD_ROUTES)
def test_bad_field_values(world: World, method: str, path: str) -> None:
    for name, fields in BAD_FIELDS.items():
        record: dict[str, Any] = {"Last_Name": "Boyle", "Email": "new@zylker.com", **fields}
        if method == "PUT":
            record["id"] = world.lead
        body = _json({"data": [record]})
        err = assert_refused(world.send(method, path, content=body), (name, method, path))
        assert err["code"] != "INTERNAL_ERROR", (name, err)


def test_nul_in_keys_and_huge_unknown_keys(world: World) -> None:
    for key in ("Last\x00Name", "\x00"):  # refused wherever it is, before any handler
        body = _json({"data": [{"Last_Name": "x", key: "x"}]})
        err = assert_refused(world.send("POST", "Leads", content=body), repr(key))
        assert err == {"code": "INVALID_DATA", "details": {"json_path": f"$.data[0].{key}"},
                       "message": "invalid data", "status": "error"}, err
    # Unknown keys are ignored, as in Zoho: a 1 MB one leaves the record without Last_Name.
    body = _json({"data": [{"x" * MB: "x"}]})
    err = assert_refused(world.send("POST", "Leads", content=body), "1 MB key")
    assert err["code"] == "MANDATORY_NOT_FOUND", err


# ----------------------------------------------------------------------------- ids
BAD_IDS = ["-1", "0", "-4876876000000000001", str(HUGE_INT), "9" * 40, "abc", "1e5", "1.0",
           "0x10", " 1", "+1", "\u0661\u0662\u0663", "\x00", "1\x00", "\ud800", "%", "_",
           "4876876000000000001'--"]
PATH_ID_ROUTES = [
    ("GET", "Leads/{x}"), ("PUT", "Leads/{x}"), ("DELETE", "Leads/{x}"),
    ("POST", "Leads/{x}/actions/convert"), ("POST", "Leads/{x}/actions/approve"),
    ("GET", "Leads/{x}/actions/blueprint"), ("PUT", "Leads/{x}/actions/blueprint"),
    ("GET", "settings/fields/{x}?module=Leads"), ("PATCH", "settings/fields/{x}?module=Leads"),
    ("GET", "settings/custom_views/{x}?module=Leads"), ("GET", "users/{x}"),
]
ID_BODIES = {
    "Leads/{x}": {"data": [{"Last_Name": "x"}]},
    "Leads/{x}/actions/convert": {"data": [{"overwrite": True}]},
    "Leads/{x}/actions/approve": {"data": [{"action": "approve"}]},
    "Leads/{x}/actions/blueprint": {"blueprint": [{"transition_id": "1", "data": {}}]},
    "settings/fields/{x}?module=Leads": {"fields": [{"unique": True}]},
}


def test_bad_ids_in_the_path(world: World) -> None:
    for method, path in PATH_ID_ROUTES:
        body = ID_BODIES.get(path) if method != "GET" else None
        for raw in BAD_IDS:
            url = path.replace("{x}", quote(raw.encode("utf-8", "surrogatepass"), safe=""))
            r = world.send(method, url, content=_json(body) if body else None)
            assert_refused(r, (raw, method, path))


BODY_ID_VALUES: list[Any] = [-1, 0, HUGE_INT, -HUGE_INT, 10**40, "abc", "1e5", 1.5, 1e300,
                             True, [], {}, None, "\x00", "4876876000000000001\x00", " 1"]


def test_bad_ids_in_bodies(world: World) -> None:
    cases: list[tuple[str, str, Any]] = []
    for v in BODY_ID_VALUES:
        cases += [
            ("PUT", "Leads", {"data": [{"id": v, "Last_Name": "x"}]}),
            ("POST", "Leads/actions/mass_update", {"ids": [v], "data": [{"Lead_Status": "x"}]}),
            ("POST", "Leads/actions/mass_update", {"cvid": v, "data": [{"Lead_Status": "x"}]}),
            ("POST", "Leads/actions/assign_territories",
             {"data": [{"id": v, "Territories": [{"id": v}]}]}),
            ("POST", "Leads/{lead}/actions/convert", {"data": [{"Accounts": {"id": v}}]}),
            ("POST", "Leads/{lead}/actions/convert", {"data": [{"assign_to": {"id": v}}]}),
            ("POST", "Leads", {"data": [{"Last_Name": "x", "Owner": {"id": v}}]}),
        ]
    for method, path, body in cases:
        r = world.send(method, path, content=_json(body))
        assert_refused(r, (method, path, body))


@pytest.mark.parametrize("param", ["ids", "cvid"])
def test_bad_ids_in_parameters(world: World, param: str) -> None:
    # Spaces around an id and empty items between commas are forgiven, as in the path.
    for raw in [*(x for x in BAD_IDS if x != " 1"), ",".join(["1"] * 101), ",", " , "]:
        for method, path in (("GET", "Leads"), ("DELETE", "Leads"), ("GET", "Leads/search"),
                             ("GET", "Leads/actions/count")):
            if param == "ids" and path != "Leads" or param == "cvid" and method == "DELETE":
                continue  # search and count take no ids; delete takes no view
            params = {param: raw, "fields": "Last_Name"}
            if path == "Leads/search":
                params["word"] = "Daly"
            r = world.send(method, path, params=params)
            assert_refused(r, (raw, method, path, param))


# ----------------------------------------------------------------------------- SQL as data
MALFORMED_CRITERIA = [
    "(Last_Name;DROP TABLE records:equals:x)",
    "(\"Last_Name\":equals:x)",
    "((Last_Name:equals:a)or(1=1))",
    "(Last_Name:equals:x) OR 1=1 --",
    "(Last_Name:equals:x))--",
    "(id:equals:1 OR 1=1)",
    "(Created_Time:equals:2024-01-01' OR '1'='1)",
    "(No_of_Employees:equals:1 OR 1=1)",
    "(Email_Opt_Out:equals:true' OR 'x'='x)",
    "(records.data:equals:x)",
    "(Last_Name:like:%)",
    "(Last_Name:equals:a\x00b)",
    "(Last_Name\x00:equals:x)",
    "(" * 40 + "Last_Name:equals:x" + ")" * 40,
    "(" * DEEP,
    ")" * DEEP,
]
# Well-formed criteria whose value is SQL: a value like any other, matching nothing.
SQL_VALUES = [
    "(Last_Name:equals:x' OR '1'='1)",
    "(Last_Name:equals:x\" OR 1=1 --)",
    "(Last_Name:starts_with:%)",
    "(Last_Name:starts_with:_)",
    "(Last_Name:equals:'; DROP TABLE records; --)",
    "(Company:in:Zylker' OR '1'='1,x)",
    "(Last_Name:equals:\ud800)",  # invalid UTF-8 in a URL decodes to U+FFFD
]


@pytest.mark.parametrize("path", ["Leads/search", "Leads/actions/count"])
def test_sql_and_garbage_in_criteria(world: World, path: str) -> None:
    for criteria in MALFORMED_CRITERIA:
        r = world.send("GET", path, params={"criteria": criteria})
        assert_refused(r, criteria)
    for criteria in SQL_VALUES:
        r = world.send("GET", path, params={"criteria": criteria})
        if path == "Leads/search":
            assert r.status_code == 204, (criteria, r.status_code, r.text[:300])
        else:
            assert r.json() == {"count": 0}, (criteria, r.text[:300])


def test_sql_and_garbage_in_sort_by_sort_order_and_flags(world: World) -> None:
    for name, values in {
        "sort_by": ["id;DROP TABLE records", "id desc", "Last_Name", "(select 1)", "id--",
                    "\x00", "records.id"],
        "sort_order": ["desc;--", "DESC", "random()", "\x00"],
        "converted": ["true' or '1'='1", "1", "\x00"],
        "approved": ["both--", "\x00"],
        "wf_trigger": ["maybe", "\x00"],
        "type": ["recycle' OR 1=1", "\x00"],
    }.items():
        for value in values:
            path = "Leads/deleted" if name == "type" else "Leads"
            method = "DELETE" if name == "wf_trigger" else "GET"
            params = {name: value, "fields": "Last_Name"}
            if method == "DELETE":
                params["ids"] = world.lead
            assert_refused(world.send(method, path, params=params), (name, value))


def test_sql_and_garbage_in_fields(world: World) -> None:
    for value in ["Last_Name,(select 1)", "*", "Last_Name FROM records--", "id;DROP TABLE x",
                  "Last_Name\x00", "\ud800", "Last_Name,' OR '1'='1"]:
        for path in ("Leads", f"Leads/{world.lead}", "Leads/search"):
            params = {"fields": value}
            if path == "Leads/search":
                params["word"] = "Daly"
            err = assert_refused(world.send("GET", path, params=params), (value, path))
            assert err["details"] == {"param_name": "fields"}, (value, err)


def test_nul_and_surrogates_in_search_parameters(world: World) -> None:
    for name in ("word", "email", "phone"):
        for value in ("Da\x00ly", "\x00", "\ud800", "Daly\udfff"):
            r = world.send("GET", "Leads/search", params={name: value})
            if r.status_code != 204:
                assert_refused(r, (name, value))
    for value in ("Le\x00ads", "\x00", "\ud800"):
        assert_refused(world.send("GET", "settings/fields", params={"module": value}), value)
        module = quote(value.encode("utf-8", "surrogatepass"), safe="")
        assert_refused(world.send("GET", module), value)


# ----------------------------------------------------------------------------- paging
PAGE_EXTREMES = ["0", "-1", "abc", "1.5", "1e3", "\x00", str(10**12), str(HUGE_INT), "9" * 40]


@pytest.mark.parametrize("path", ["Leads", "Leads/search", "Leads/deleted"])
def test_page_and_per_page_extremes(world: World, path: str) -> None:
    for name in ("page", "per_page"):
        for value in PAGE_EXTREMES:
            params = {name: value, "fields": "Last_Name"}
            if path == "Leads/search":
                params["word"] = "Daly"
            r = world.send("GET", path, params=params)
            if name == "per_page" and value.isdigit() and int(value) > 200:
                # Clamped to 200 (COMPATIBILITY.md): an ordinary answer.
                assert r.status_code in (200, 204), (name, value, r.text[:300])
            elif path == "Leads/deleted" and name == "page" and value.isdigit() and \
                    int(value) > 1:
                assert r.status_code == 204, (name, value, r.text[:300])  # past the end
            else:
                assert_refused(r, (path, name, value))


# ----------------------------------------------------------------------------- token endpoint
def test_token_endpoint_garbage(world: World) -> None:
    """Zoho Accounts answers token errors as `{"error": ...}` with HTTP 200 (COMPATIBILITY.md);
    garbage in any field gets that answer too, never a 500."""
    fields = ("grant_type", "client_id", "client_secret", "code", "refresh_token", "scope",
              "redirect_uri", "soid")
    for value in ("\x00", "a\x00b", "x" * MB, "\ud800", "'; DROP TABLE oauth_tokens; --"):
        for grant in ("authorization_code", "refresh_token", "client_credentials", value):
            form = {k: value for k in fields} | {"grant_type": grant}
            encoded = "&".join(f"{k}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
                               for k, v in form.items())
            answers = [world.api.client.post("/oauth/v2/token", content=encoded.encode(),
                                             headers={"Content-Type":
                                                      "application/x-www-form-urlencoded"})]
            if len(encoded) < 10_000:
                answers.append(world.api.client.post(f"/oauth/v2/token?{encoded}"))
            for r in answers:
                assert r.status_code in (200, 400, 413), (value[:20], grant[:20], r.text[:300])
                assert "error" in r.json() or r.json()["status"] == "error", r.text[:300]


# ----------------------------------------------------------------------------- every GET route
GET_PARAMS = ("module", "type", "job_id", "rule_id", "status", "cvid", "ids", "fields", "page",
              "per_page", "sort_by", "sort_order", "converted", "approved", "criteria", "email",
              "phone", "word", "wf_trigger")
GET_VALUES = ("a\x00b", "99999999999999999999", "\ud800", "x'--")


def _get_routes() -> list[str]:
    from corral.api.routes import TABLE

    paths = []
    for path, handlers in TABLE:
        # The accounts role (/oauth/...) answers accounts-style {"error": ...}, not Zoho JSON.
        if "GET" in handlers and not path.startswith("/oauth"):
            path = path.replace("/crm/{version}/", "").replace("{module}", "Leads")
            path = path.replace("{version}", "v2").replace("{job_id}", "1")  # /crm/bulk/...
            path = path.replace("{api_name}", "Leads").replace("{record_id}", "{lead}")
            path = path.replace("{field_id}", "{field}")
            path = path.replace("{related_list}", "Notes")
            for other in ("{view_id}", "{user_id}", "{tag_id}", "{attachment_id}", "{list_id}",
                          "{related_id}", "{role_id}", "{profile_id}", "{currency_id}"):
                path = path.replace(other, "1")
            paths.append(path)
    return paths


def test_garbage_parameters_on_every_get_route(world: World) -> None:
    """Whatever a route makes of a parameter (use, ignore, refuse), never a 5xx."""
    for path, name, value in itertools.product(_get_routes(), GET_PARAMS, GET_VALUES):
        case = (path, name, value)
        r = world.send("GET", path, params={"module": "Leads", name: value})
        assert r.status_code < 500, (case, r.text[:300])
        assert not any(m in r.text for m in FORBIDDEN), (case, r.text[:300])
        if r.status_code >= 400:
            assert_refused(r, case)
